//! Splits a reply longer than Telegram's 4096 UTF-16 code units per message into parts, cutting
//! at a paragraph break if one fits, else a line break, else a sentence end, else a space, and
//! only as a last resort inside a word. We send plain text (no `parse_mode`, no entities), so no
//! cut can fall inside a formatting entity.

/// Telegram's limit for one message's text, in UTF-16 code units.
pub const MAX_UTF16_UNITS: usize = 4096;

fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Byte length of the longest prefix of `text` within `limit` UTF-16 units (on a char boundary).
fn prefix_within(text: &str, limit: usize) -> usize {
    let mut units = 0;
    for (index, c) in text.char_indices() {
        units += c.len_utf16();
        if units > limit {
            return index;
        }
    }
    text.len()
}

/// Where to cut `window` (a byte offset > 0), preferring the strongest boundary.
fn cut_point(window: &str) -> usize {
    if let Some(i) = window.rfind("\n\n").filter(|&i| i > 0) {
        return i + 2;
    }
    if let Some(i) = window.rfind('\n').filter(|&i| i > 0) {
        return i + 1;
    }
    let sentence_end = window
        .char_indices()
        .zip(window.chars().skip(1))
        .filter(|((_, c), next)| matches!(c, '.' | '!' | '?' | '…') && next.is_whitespace())
        .map(|((i, c), _)| i + c.len_utf8())
        .last();
    if let Some(i) = sentence_end {
        return i;
    }
    if let Some(i) = window.rfind(char::is_whitespace).filter(|&i| i > 0) {
        return i;
    }
    window.len()
}

/// The parts to send, in order; one part when `text` fits.
pub fn split_message(text: &str, limit: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while utf16_len(rest) > limit {
        let window = &rest[..prefix_within(rest, limit)];
        let cut = match cut_point(window) {
            0 => window
                .len()
                .max(rest.chars().next().map_or(1, char::len_utf8)),
            cut => cut,
        };
        let part = rest[..cut].trim_end();
        if !part.is_empty() {
            parts.push(part.to_owned());
        }
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        parts.push(rest.to_owned());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(split_message("Hello there.", 4096), vec!["Hello there."]);
    }

    #[test]
    fn prefers_paragraphs_then_sentences_then_words() {
        let text = "First para.\n\nSecond para is longer. It has two sentences.";
        assert_eq!(
            split_message(text, 30),
            vec![
                "First para.",
                "Second para is longer.",
                "It has two sentences."
            ]
        );
        assert_eq!(
            split_message("alpha beta gamma delta", 11),
            vec!["alpha beta", "gamma delta"]
        );
    }

    #[test]
    fn counts_utf16_units_and_never_splits_a_character() {
        // Each emoji is two UTF-16 units: 3 of them (6 units) do not fit in 5.
        let parts = split_message("😀😀😀", 5);
        assert_eq!(parts, vec!["😀😀", "😀"]);
        for part in split_message(&"é😀 ".repeat(3000), 4096) {
            assert!(utf16_len(&part) <= 4096);
        }
    }
}
