//! Text a person types (notes, names, reasons, titles): what it may hold so that
//! it reads the same on every screen. Control characters are refused (a newline is
//! allowed where the text has lines), and so are the Unicode bidirectional
//! overrides, embeddings and isolates, which can make one resident's entry on the
//! notice board read as another's. Text that passes is stored and shown exactly as
//! typed; nothing is stripped or rewritten.

/// Whether a text may hold line breaks (`\n`, or `\r\n` as browsers send it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error(
        "{field} holds the control character U+{code:04X} at character {at}; type it without control characters{lines}",
        lines = if *.newline_allowed { " (a line break is fine)" } else { "" }
    )]
    Control {
        field: &'static str,
        code: u32,
        at: usize,
        newline_allowed: bool,
    },
    #[error(
        "{field} holds U+{code:04X} ({name}) at character {at}: bidirectional controls can make text read as something else and are not accepted"
    )]
    Bidi {
        field: &'static str,
        code: u32,
        name: &'static str,
        at: usize,
    },
}

impl TextError {
    /// The field the text was typed in, as the message names it.
    pub fn field(&self) -> &'static str {
        match self {
            TextError::Control { field, .. } | TextError::Bidi { field, .. } => field,
        }
    }
}

/// The name of a bidirectional embedding, override or isolate, `None` for any other
/// character.
fn bidi_control(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        _ => return None,
    })
}

/// Checks a text a person typed into `field`. Positions count characters from 1.
pub fn check(field: &'static str, s: &str, lines: Lines) -> Result<(), TextError> {
    let mut chars = s.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        let at = i + 1;
        if let Some(name) = bidi_control(c) {
            return Err(TextError::Bidi {
                field,
                code: u32::from(c),
                name,
                at,
            });
        }
        if c.is_control() {
            let newline = c == '\n' || (c == '\r' && chars.peek().is_some_and(|(_, n)| *n == '\n'));
            if newline && lines == Lines::Many {
                continue;
            }
            return Err(TextError::Control {
                field,
                code: u32::from(c),
                at,
                newline_allowed: lines == Lines::Many,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_case(s: &str, lines: Lines, expect: Result<(), &str>) {
        let got = check("the note", s, lines).map_err(|e| e.to_string());
        match (got, expect) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(want)) => assert!(e.contains(want), "{s:?}: {e:?} lacks {want:?}"),
            (got, want) => panic!("{s:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn text_that_cannot_lie() {
        check_case("参加村民议事会 3 次", Lines::One, Ok(()));
        check_case("第一行\n第二行\r\n第三行", Lines::Many, Ok(()));
        check_case("a\nb", Lines::One, Err("U+000A at character 2"));
        check_case("a\rb", Lines::Many, Err("U+000D at character 2"));
        check_case(
            "nul\u{0}",
            Lines::Many,
            Err("control character U+0000 at character 4"),
        );
        check_case("\u{9}tab", Lines::Many, Err("U+0009"));
        check_case("c1\u{85}", Lines::Many, Err("U+0085"));
        check_case(
            "张三\u{202E}四李",
            Lines::Many,
            Err("U+202E (RIGHT-TO-LEFT OVERRIDE) at character 3"),
        );
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}',
        ] {
            check_case(&format!("x{c}"), Lines::Many, Err("bidirectional controls"));
        }
        // Arabic, Hebrew and marks that are not controls are text like any other.
        check_case("שלום مرحبا \u{200F}", Lines::One, Ok(()));
        let e = check("the name", "\u{202E}", Lines::One).expect_err("refused");
        assert_eq!(e.field(), "the name");
    }
}
