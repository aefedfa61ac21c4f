//! Player names: the one rule shared by the scoreboard and the duo rooms.
//!
//! A name is trimmed, then must be 1 to [`MAX_NAME_CHARS`] characters with no control characters and
//! no invisible formatting characters (zero-width spaces, bidirectional overrides), which could make
//! two names look identical or reorder the text around them. Escaping for HTML is the client's job
//! (`textContent`); the server never puts a name into HTML.

/// Longest name, in Unicode scalar values.
pub const MAX_NAME_CHARS: usize = 16;

/// Why a name was refused (the message goes back to the player).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty after trimming.
    #[error("name must not be empty")]
    Empty,
    /// Over the length limit.
    #[error("name must be at most {MAX_NAME_CHARS} characters")]
    TooLong,
    /// Contains a control or invisible formatting character.
    #[error("name must not contain control or invisible formatting characters")]
    BadCharacter,
}

/// Returns the trimmed name if it is acceptable.
pub fn validate_name(raw: &str) -> Result<String, NameError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    if name.chars().any(|c| c.is_control() || is_invisible_format(c)) {
        return Err(NameError::BadCharacter);
    }
    Ok(name.to_owned())
}

fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed() {
        assert_eq!(validate_name("  ada  "), Ok("ada".into()));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(validate_name(&"é".repeat(16)).is_ok());
        assert_eq!(validate_name(&"é".repeat(17)), Err(NameError::TooLong));
    }

    #[test]
    fn empty_control_and_bidi_names_are_refused() {
        assert_eq!(validate_name("   "), Err(NameError::Empty));
        assert_eq!(validate_name("a\nb"), Err(NameError::BadCharacter));
        assert_eq!(validate_name("a\u{202E}b"), Err(NameError::BadCharacter));
        assert_eq!(validate_name("a\u{200B}"), Err(NameError::BadCharacter));
    }

    #[test]
    fn markup_is_an_ordinary_name() {
        // Escaping is the client's job; the server stores the text as given.
        assert_eq!(validate_name("<b>x</b>"), Ok("<b>x</b>".into()));
    }
}
