//! Messages: every word a page shows lives in `locales/zh-CN.txt` (the default)
//! or `locales/en.txt`, one `key = text` a line, compiled in. A page asks for a
//! key; `{}` in a text is filled in order. A key missing at run time shows as
//! the key itself (and is logged), and a test keeps that from ever shipping.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::OnceLock;

/// The page languages, default first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// What `?lang=` and the cookie carry.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh-hans" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first supported language in an `Accept-Language` header, by weight.
    pub fn from_accept(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for part in header.split(',').take(ACCEPT_LANGUAGES_MAX) {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse().ok()))
                .unwrap_or(1.0f32);
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l)
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// Most `Accept-Language` items looked at.
pub const ACCEPT_LANGUAGES_MAX: usize = 16;

pub const ZH_SOURCE: &str = include_str!("../../locales/zh-CN.txt");
pub const EN_SOURCE: &str = include_str!("../../locales/en.txt");

/// Parses a message file: `key = text` lines, `#` comments, blank lines; a text
/// in double quotes keeps its leading and trailing spaces.
/// Returns the messages, or the first bad line (1-based) and why.
pub fn parse(src: &str) -> Result<HashMap<&str, &str>, (usize, &'static str)> {
    let mut out = HashMap::new();
    for (i, line) in src.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once(" = ")
            .ok_or((i + 1, "no ' = ' in the line"))?;
        let k = k.trim();
        if k.is_empty()
            || !k
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        {
            return Err((i + 1, "a key is letters, digits, '.', '_', '-' or '+'"));
        }
        // A text in double quotes keeps its spaces: `list.sep = ", "`.
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|x| x.strip_suffix('"'))
            .unwrap_or(v);
        if out.insert(k, v).is_some() {
            return Err((i + 1, "the key is defined twice"));
        }
    }
    Ok(out)
}

fn table(lang: Lang) -> &'static HashMap<&'static str, &'static str> {
    static ZH: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    static EN: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let (cell, src) = match lang {
        Lang::Zh => (&ZH, ZH_SOURCE),
        Lang::En => (&EN, EN_SOURCE),
    };
    cell.get_or_init(|| {
        parse(src).unwrap_or_else(|(line, why)| {
            // The message-file test fails on this first; never reached in a tested build.
            tracing::error!(lang = lang.tag(), line, why, "bad message file");
            HashMap::new()
        })
    })
}

/// The text of `key` in `lang`; the key itself when it is missing.
pub fn text(lang: Lang, key: &str) -> &str {
    match table(lang).get(key) {
        Some(t) => t,
        None => {
            tracing::warn!(lang = lang.tag(), key, "missing message");
            key
        }
    }
}

/// Whether `key` exists in `lang` (for keys built from domain values).
pub fn has(lang: Lang, key: &str) -> bool {
    table(lang).contains_key(key)
}

/// Fills the `{}` of a text in order.
pub fn fill(text: &str, args: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    let mut args = args.iter();
    while let Some(i) = rest.find("{}") {
        out.push_str(&rest[..i]);
        match args.next() {
            Some(a) => out.push_str(&a.to_string()),
            None => out.push_str("{}"),
        }
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_heaviest_supported() {
        assert_eq!(
            Lang::from_accept("en-US,en;q=0.9,zh-CN;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept("fr;q=1, zh-TW;q=0.5, en;q=0.4"),
            Some(Lang::Zh)
        );
        assert_eq!(Lang::from_accept("fr, de"), None);
        assert_eq!(Lang::from_accept("en;q=0, zh;q=0.1"), Some(Lang::Zh));
        assert_eq!(Lang::from_accept(""), None);
    }

    #[test]
    fn fill_puts_arguments_in_order() {
        assert_eq!(fill("{} of {}", &[&3, &"ten"]), "3 of ten");
        assert_eq!(fill("no args {}", &[]), "no args {}");
    }

    #[test]
    fn message_files_parse_and_refuse_bad_lines() {
        assert!(parse(ZH_SOURCE).is_ok(), "{:?}", parse(ZH_SOURCE).err());
        assert!(parse(EN_SOURCE).is_ok(), "{:?}", parse(EN_SOURCE).err());
        assert_eq!(
            parse("a = 1\na = 2").err(),
            Some((2, "the key is defined twice"))
        );
        assert_eq!(
            parse("# c\n\nnope").err(),
            Some((3, "no ' = ' in the line"))
        );
    }
}
