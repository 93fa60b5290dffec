//! Finding a resident as staff type: by name (any part of it), by the initials of
//! its pinyin (张三丰 → `zsf`, typed in either case, also as the first letters of
//! part of the name), by full pinyin of its start (`zhangs`), by household label,
//! or by member number. A Chinese character with several readings matches on any
//! of them (曾 as zeng or ceng).

use pinyin::ToPinyinMulti;

/// A name's readings: per character, the pinyin syllables it may be read as
/// (lowercase, plain); a character that is not Chinese stands for itself,
/// lowercased.
pub fn readings(name: &str) -> Vec<Vec<String>> {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '·' && *c != '-')
        .map(|c| {
            let mut out: Vec<String> = Vec::new();
            if let Some(multi) = c.to_pinyin_multi() {
                for p in multi {
                    let plain = p.plain();
                    // ü is typed as v (lv) or u (lu) on a keyboard.
                    let spelled: Vec<String> = if plain.contains('ü') {
                        vec![plain.replace('ü', "v"), plain.replace('ü', "u")]
                    } else {
                        vec![plain.to_owned()]
                    };
                    for s in spelled {
                        if !out.contains(&s) {
                            out.push(s);
                        }
                    }
                }
            }
            if out.is_empty() {
                out.push(c.to_lowercase().collect());
            }
            out
        })
        .collect()
}

/// The longest query compared; a longer one matches nothing.
pub const QUERY_CHARS_MAX: usize = 64;

/// What a typed query is compared with, prepared once per member.
#[derive(Debug, Clone)]
pub struct Searchable {
    name: String,
    household: String,
    number: String,
    readings: Vec<Vec<String>>,
}

impl Searchable {
    pub fn new(name: &str, household: &str, number: i64) -> Searchable {
        Searchable {
            name: name.to_lowercase(),
            household: household.to_lowercase(),
            number: number.to_string(),
            readings: readings(name),
        }
    }

    /// How well `query` matches, best first (0 is best), or `None` when it does
    /// not. The query is trimmed and compared without case.
    pub fn rank(&self, query: &str) -> Option<u8> {
        let q = query.trim().to_lowercase();
        if q.is_empty() || q.chars().count() > QUERY_CHARS_MAX {
            return None;
        }
        if q == self.number || q.strip_prefix('#') == Some(self.number.as_str()) {
            return Some(0);
        }
        if self.name == q {
            return Some(1);
        }
        if self.name.starts_with(&q) {
            return Some(2);
        }
        let ascii = q.chars().all(|c| c.is_ascii_alphabetic());
        if ascii && pinyin_from(&self.readings, 0, &q) {
            return Some(3);
        }
        if self.name.contains(&q) {
            return Some(4);
        }
        if ascii && (1..self.readings.len()).any(|i| pinyin_from(&self.readings, i, &q)) {
            return Some(5);
        }
        if self.household.contains(&q) {
            return Some(6);
        }
        if q.chars().all(|c| c.is_ascii_digit()) && self.number.starts_with(&q) {
            return Some(7);
        }
        None
    }
}

/// Whether `q` spells the characters from `at` on, each by its initial or by a
/// whole reading (the last one typed may be a reading's start): `zs`, `zhangs`,
/// `zhangsan` all spell 张三.
fn pinyin_from(readings: &[Vec<String>], at: usize, q: &str) -> bool {
    if q.is_empty() {
        return true;
    }
    let Some(here) = readings.get(at) else {
        return false;
    };
    here.iter().any(|r| {
        // The whole reading, then the rest.
        (q.starts_with(r.as_str()) && pinyin_from(readings, at + 1, &q[r.len()..]))
            // The query ends inside this reading.
            || (r.starts_with(q))
            // Only the initial (zh, ch, sh count as one letter or two); one that is
            // the whole reading (a letter of a Latin name) was tried above, and
            // trying it twice would double the work with every letter.
            || initials_of(r).iter().any(|i| {
                i != r && q.starts_with(i.as_str()) && pinyin_from(readings, at + 1, &q[i.len()..])
            })
    })
}

/// A reading's initials as people type them: its first letter, and for zh, ch
/// and sh also the two letters.
fn initials_of(reading: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(2);
    if let Some(first) = reading.chars().next() {
        out.push(first.to_string());
    }
    for two in ["zh", "ch", "sh"] {
        if reading.starts_with(two) {
            out.push(two.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str) -> Searchable {
        Searchable::new(name, "三组 12 号", 42)
    }

    #[test]
    fn initials_find_a_chinese_name() {
        assert_eq!(s("张三丰").rank("zsf"), Some(3));
        assert_eq!(s("张三丰").rank("ZS"), Some(3));
        assert_eq!(s("张三丰").rank("zhangs"), Some(3));
        assert_eq!(s("张三丰").rank("zhangsanfeng"), Some(3));
        assert_eq!(s("张三丰").rank("zhsf"), Some(3));
        assert_eq!(s("张三丰").rank("sf"), Some(5));
        assert_eq!(s("张三丰").rank("zx"), None);
        assert_eq!(s("张三丰").rank("zsfx"), None);
    }

    #[test]
    fn a_character_with_two_readings_matches_on_either() {
        assert_eq!(s("曾小明").rank("zxm"), Some(3));
        assert_eq!(s("曾小明").rank("cxm"), Some(3));
    }

    #[test]
    fn u_with_umlaut_is_typed_v_or_u_and_a_long_latin_name_costs_no_more_than_its_length() {
        assert_eq!(s("吕小明").rank("lvxm"), Some(3));
        assert_eq!(s("吕小明").rank("luxm"), Some(3));
        let long = "alexandriamontgomeryalexandriamontgomeryabcdefghijklmnop";
        let started = std::time::Instant::now();
        let mut wrong = long.to_owned();
        wrong.pop();
        wrong.push('x');
        assert_eq!(s(long).rank(&wrong), None);
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn name_household_and_number() {
        assert_eq!(s("张三丰").rank("42"), Some(0));
        assert_eq!(s("张三丰").rank("#42"), Some(0));
        assert_eq!(s("张三丰").rank("4"), Some(7));
        assert_eq!(s("张三丰").rank("张三丰"), Some(1));
        assert_eq!(s("张三丰").rank("张"), Some(2));
        assert_eq!(s("张三丰").rank("三丰"), Some(4));
        assert_eq!(s("张三丰").rank("三组"), Some(6));
        assert_eq!(s("张三丰").rank("  "), None);
        assert_eq!(s("Li Ming").rank("li"), Some(2));
    }
}
