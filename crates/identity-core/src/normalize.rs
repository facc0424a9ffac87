//! How values compare. Stored values keep what the source sent; comparisons use these keys.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// The comparison key of a person's name: Unicode NFKC, case-folded, accents removed,
/// surrounding whitespace trimmed and inner runs of whitespace collapsed to one space.
///
/// `"  Zoë "` and `"ZOE"` give the same key; so do `"José"` and `"jose"`, and the
/// full-width `"Ｊｏｅ"` and `"joe"`. Letters with no decomposition (`ø`, `ł`) stay as they are:
/// folding those is a transliteration choice, not normalisation.
pub fn name_key(name: &str) -> String {
    // Nearly every name is ASCII, for which the three Unicode passes change nothing but case
    // (they were a sixth of an import's CPU).
    if name.is_ascii() {
        let mut key = String::with_capacity(name.len());
        for word in name.split_whitespace() {
            if !key.is_empty() {
                key.push(' ');
            }
            key.extend(word.chars().map(|c| c.to_ascii_lowercase()));
        }
        return key;
    }
    unicode_name_key(name)
}

fn unicode_name_key(name: &str) -> String {
    let compatible: String = name.nfkc().collect();
    let folded = caseless::default_case_fold_str(&compatible);
    let unaccented: String = folded.nfd().filter(|c| !is_combining_mark(*c)).nfc().collect();
    unaccented.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The comparison key of an email address: trimmed and lower-cased. Addresses are stored as
/// trimmed; the key is what uniqueness and matching use.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The comparison key of an external id that compares case-insensitively (SCIM `userName`).
pub fn case_insensitive_key(id: &str) -> String {
    id.to_lowercase()
}

/// Trims a free-text field and turns an empty or blank one into `None`.
pub fn non_blank(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_keys_fold_case_accents_width_and_space() {
        let cases = [
            ("Zoë", "zoe"),
            ("ZOE", "zoe"),
            ("  José ", "jose"),
            ("Ｊｏｅ", "joe"),
            ("Mary   Ann", "mary ann"),
            ("Straße", "strasse"),
            ("ÅSA", "asa"),
            ("Øyvind", "øyvind"),
            ("", ""),
            ("   ", ""),
        ];
        for (input, key) in cases {
            assert_eq!(name_key(input), key, "name_key({input:?})");
        }
    }

    #[test]
    fn ascii_names_take_the_unicode_passes_key() {
        // Every ASCII character alone, between letters, and in runs with spaces and tabs.
        let mut inputs: Vec<String> = (0u8..128).map(|b| char::from(b).to_string()).collect();
        inputs.extend((0u8..128).map(|b| format!("Ab{}Cd", char::from(b))));
        inputs.extend((0u8..128).map(|b| format!(" \t{}  X\u{b}y\r\n", char::from(b))));
        for input in inputs {
            assert_eq!(name_key(&input), unicode_name_key(&input), "name_key({input:?})");
        }
    }

    #[test]
    fn composed_and_decomposed_forms_share_a_key() {
        assert_eq!(name_key("Zo\u{00eb}"), name_key("Zoe\u{0308}"));
    }

    #[test]
    fn email_keys_trim_and_lower_case() {
        assert_eq!(email_key("  Jane.Doe@Example.ORG "), "jane.doe@example.org");
        assert_eq!(email_key("a@b.co"), "a@b.co");
    }

    #[test]
    fn user_name_keys_ignore_case_only() {
        assert_eq!(case_insensitive_key("Bjensen"), "bjensen");
        assert_eq!(case_insensitive_key(" x "), " x ");
    }

    #[test]
    fn blank_text_is_absent() {
        assert_eq!(non_blank(Some("  ")), None);
        assert_eq!(non_blank(None), None);
        assert_eq!(non_blank(Some(" Ann ")), Some("Ann".to_owned()));
    }
}
