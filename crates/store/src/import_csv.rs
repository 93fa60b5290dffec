//! The CSV files of `jifen import` (UTF-8, a header row) parsed into the rows of
//! [`ImportMembers`](crate::ImportMembers) and [`ImportEntries`](crate::ImportEntries).
//! Pure: text in, rows or the first bad line out; the commands check the rest.
//! A refusal names the line as a spreadsheet shows it.

use std::collections::HashMap;

use jifen_core::fairness::Residence;
use jifen_core::{EntryKind, HouseholdId, IndicatorCode, MemberId};

use crate::attributes::Attributes;
use crate::error::{Result, StoreError};
use crate::import::{EntryRow, MemberRow};

/// Most rows one import takes (it is one transaction).
pub const IMPORT_ROWS_MAX: usize = 1_000_000;

/// The columns a members file must have (`household_label`, `birth_year` and
/// `residence` are optional; an empty cell records nothing).
const MEMBER_COLUMNS: [&str; 3] = ["member", "household", "name"];
/// The columns an entries file must have (`indicator`, `indicator_version`, `quantity`
/// are optional).
const ENTRY_COLUMNS: [&str; 3] = ["member", "kind", "amount"];

/// The rows of a members CSV
/// (`member,household,name[,household_label,birth_year,residence]`), in file
/// order. Empty when the file has only its header.
pub fn members_from_csv(text: &str) -> Result<Vec<MemberRow>> {
    let t = Table::parse(text, &MEMBER_COLUMNS)?;
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, rec) in &t.rows {
        let line = *line;
        let member = t
            .get(rec, "member")
            .map(MemberId::parse)
            .transpose()
            .map_err(|e| line_err(line, e))?;
        let household = HouseholdId::parse(t.get(rec, "household").unwrap_or(""))
            .map_err(|e| line_err(line, e))?;
        let name = t
            .get(rec, "name")
            .ok_or_else(|| line_err(line, "name is empty"))?;
        out.push(MemberRow {
            line: Some(line),
            member,
            household,
            household_label: t.get(rec, "household_label").map(str::to_owned),
            name: name.to_owned(),
            attributes: Attributes {
                birth_year: t
                    .get(rec, "birth_year")
                    .map(|y| {
                        y.trim()
                            .parse::<i32>()
                            .map_err(|_| format!("birth_year {y:?} is not a year"))
                    })
                    .transpose()
                    .map_err(|e| line_err(line, e))?,
                residence: t
                    .get(rec, "residence")
                    .map(Residence::parse)
                    .transpose()
                    .map_err(|e| line_err(line, e))?,
            },
        });
    }
    Ok(out)
}

/// The rows of an entries CSV
/// (`member,kind,amount[,indicator,indicator_version,quantity]`), in file order.
/// Empty when the file has only its header.
pub fn entries_from_csv(text: &str) -> Result<Vec<EntryRow>> {
    let t = Table::parse(text, &ENTRY_COLUMNS)?;
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, rec) in &t.rows {
        let line = *line;
        let member =
            MemberId::parse(t.get(rec, "member").unwrap_or("")).map_err(|e| line_err(line, e))?;
        let kind =
            EntryKind::parse(t.get(rec, "kind").unwrap_or("")).map_err(|e| line_err(line, e))?;
        let amount: i64 = t
            .get(rec, "amount")
            .unwrap_or("")
            .parse()
            .map_err(|_| line_err(line, "amount is not a whole number"))?;
        let quantity: u32 = match t.get(rec, "quantity") {
            Some(q) => q
                .parse()
                .map_err(|_| line_err(line, "quantity is not a whole number"))?,
            None => 1,
        };
        let indicator = match t.get(rec, "indicator") {
            None => None,
            Some(code) => {
                let code = IndicatorCode::parse(code).map_err(|e| line_err(line, e))?;
                let version = t
                    .get(rec, "indicator_version")
                    .map(|v| {
                        v.parse()
                            .map_err(|_| line_err(line, "indicator_version is not a whole number"))
                    })
                    .transpose()?;
                Some((code, version))
            }
        };
        out.push(EntryRow {
            line: Some(line),
            member,
            kind,
            amount,
            quantity,
            indicator,
        });
    }
    Ok(out)
}

fn line_err(line: u64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(format!("line {line}: {e}"))
}

/// A parsed CSV: its header's column positions and the rows with their line numbers.
struct Table {
    columns: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    fn parse(text: &str, required: &[&str]) -> Result<Table> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text); // a BOM from spreadsheet programs
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| line_err(1, format!("cannot read the header row: {e}")))?
            .clone();
        let columns: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_lowercase(), i))
            .collect();
        for r in required {
            if !columns.contains_key(*r) {
                return Err(line_err(
                    1,
                    format!(
                        "the header has no column {r:?} (it needs {})",
                        required.join(",")
                    ),
                ));
            }
        }
        let mut rows = Vec::new();
        let mut lines = LineCounter::new(text);
        for rec in reader.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                line_err(line, e)
            })?;
            let line = rec.position().map_or(0, |p| lines.line_at(p.byte()));
            if rows.len() >= IMPORT_ROWS_MAX {
                return Err(line_err(
                    line,
                    format!("more than {IMPORT_ROWS_MAX} rows; split the file"),
                ));
            }
            rows.push((line, rec));
        }
        Ok(Table { columns, rows })
    }

    fn get<'a>(&self, rec: &'a csv::StringRecord, column: &str) -> Option<&'a str> {
        self.columns
            .get(column)
            .and_then(|i| rec.get(*i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// Line numbers of byte offsets in a text, counted as a spreadsheet user sees them:
/// a line ends at "\n", "\r\n" or a lone "\r". (The csv reader's own count is one
/// short per "\r\n", the ending every Windows spreadsheet writes.) Offsets are
/// asked in increasing order, so the text is scanned once.
struct LineCounter<'a> {
    text: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The line that holds byte `byte` (1 for the first).
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut end = usize::try_from(byte).map_or(self.text.len(), |b| b.min(self.text.len()));
        // The reader ends a record at the "\r" of a "\r\n" and starts the next one at its
        // "\n": that record is on the line after it.
        if end > 0 && self.text[end - 1] == b'\r' && self.text.get(end) == Some(&b'\n') {
            end += 1;
        }
        if end < self.at {
            // Not expected (offsets come in order); count again from the start.
            self.at = 0;
            self.line = 1;
        }
        while self.at < end {
            match self.text[self.at] {
                b'\n' => self.line += 1,
                b'\r' if self.text.get(self.at + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
            self.at += 1;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_crlf_and_lone_cr_as_a_spreadsheet_does() {
        for text in [
            "member,household,name\n1,1,a\n2,1,b\n",
            "member,household,name\r\n1,1,a\r\n2,1,b\r\n",
            "member,household,name\r1,1,a\r2,1,b\r",
        ] {
            let lines: Vec<Option<u64>> = members_from_csv(text)
                .expect("valid")
                .iter()
                .map(|r| r.line)
                .collect();
            assert_eq!(lines, [Some(2), Some(3)], "{text:?}");
        }
    }

    /// Found by the fuzz target `csv_import`: with "\r\n" endings, as every Windows
    /// spreadsheet writes, each row was named one line too early (its first row as line 1).
    #[test]
    fn the_first_row_after_a_crlf_header_is_line_2() {
        let text = "\u{feff}member,household,name,household_label\r\n1,1,mber,h五\r\n";
        let rows = members_from_csv(text).expect("valid");
        assert_eq!(rows[0].line, Some(2));
        let err = members_from_csv("member,household,name\r\n1,x,a\r\n").expect_err("bad");
        assert!(err.to_string().starts_with("line 2: household id"), "{err}");
    }

    #[test]
    fn a_bad_row_is_named_by_its_line() {
        let err = members_from_csv("\u{feff}Member,Household,Name\r\n1,1,a\r\n2,x,b\r\n")
            .expect_err("bad household");
        assert!(err.to_string().contains("line 3: household id"), "{err}");
        let err = entries_from_csv("member,kind\n1,award\n").expect_err("no amount column");
        assert!(
            err.to_string()
                .contains("line 1: the header has no column \"amount\""),
            "{err}"
        );
        let rows =
            entries_from_csv("member,kind,amount,indicator\n3,award,5,cleanup\n").expect("valid");
        assert_eq!(rows[0].quantity, 1);
        assert!(matches!(&rows[0].indicator, Some((_, None))));
    }
}
