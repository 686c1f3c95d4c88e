//! Telephone numbers a caller gives: a Chinese mobile number or a landline with its area
//! code. One rule for the hotline desk's form and the handheld's, so that a number accepted
//! on one is accepted on the other and is written the same way (the callback dials it).
//!
//! Not part of the rule table: a reporter's `contact` may be an e-mail address (Open311), and
//! events already stored with any contact must keep folding as they did.

/// What kind of number a [`Phone`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneKind {
    /// 手机: 11 digits, `1[3-9]` then nine more.
    Mobile,
    /// 固定电话: an area code (`010`, `02x`, or four digits such as `0755`) and a local number
    /// of 7 or 8 digits that starts with 2–9.
    Landline,
}

/// A telephone number in the one written form this module gives it: a mobile number as its
/// 11 digits (`13812345678`), a landline as area code, hyphen, local number (`010-62345678`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub kind: PhoneKind,
    pub number: String,
}

/// Why a text is not a telephone number, so that a form can say what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneError {
    /// Nothing but separators.
    Empty,
    /// Something other than digits, spaces, hyphens, parentheses or a leading `+86`.
    NotDigits,
    /// Seven or eight digits that read as a local number: the area code is missing.
    NoAreaCode,
    /// Digits, but neither a mobile number nor a landline with its area code.
    Unknown,
}

impl Phone {
    /// Reads a number as people type it: half- or full-width digits, with spaces, hyphens or
    /// parentheses anywhere (`(010) 6234-5678`), and a mobile number maybe after `+86`, `0086`
    /// or `86`.
    pub fn parse(text: &str) -> Result<Phone, PhoneError> {
        let mut digits = String::new();
        for (i, c) in text.trim().chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                // Full-width digits, as a Chinese input method may leave them: the block
                // lies 0xFEE0 above ASCII.
                '０'..='９' => digits.extend(char::from_u32(c as u32 - 0xFEE0)),
                '+' | '＋' if i == 0 => {}
                ' ' | '\u{3000}' | '-' | '－' | '(' | ')' | '（' | '）' => {}
                _ => return Err(PhoneError::NotDigits),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        let national = ["0086", "86"]
            .iter()
            .find_map(|prefix| digits.strip_prefix(prefix).filter(|rest| is_mobile(rest)))
            .unwrap_or(&digits);
        if is_mobile(national) {
            return Ok(Phone {
                kind: PhoneKind::Mobile,
                number: national.to_owned(),
            });
        }
        if let Some((area, local)) = landline(&digits) {
            return Ok(Phone {
                kind: PhoneKind::Landline,
                number: format!("{area}-{local}"),
            });
        }
        if is_local(&digits) {
            return Err(PhoneError::NoAreaCode);
        }
        Err(PhoneError::Unknown)
    }
}

fn is_mobile(digits: &str) -> bool {
    let b = digits.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// A local number: 7 or 8 digits, the first 2–9.
fn is_local(digits: &str) -> bool {
    (7..=8).contains(&digits.len()) && digits.starts_with(|c: char| ('2'..='9').contains(&c))
}

/// Area code and local number: Beijing's `010` and the `02x` codes have three digits, every
/// other area code four.
fn landline(digits: &str) -> Option<(&str, &str)> {
    if !digits.starts_with('0') || digits.starts_with("00") {
        return None;
    }
    let area = if digits.starts_with("010") || digits.starts_with("02") {
        3
    } else {
        4
    };
    let (code, local) = digits.split_at(area.min(digits.len()));
    (code.len() == area && is_local(local)).then_some((code, local))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Option<String> {
        Phone::parse(text).ok().map(|p| p.number)
    }

    #[test]
    fn mobile_numbers_however_typed() {
        for text in [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+86 138 1234 5678",
            "008613812345678",
            "8613812345678",
            "１３８１２３４５６７８",
        ] {
            assert_eq!(number(text).as_deref(), Some("13812345678"), "{text}");
        }
        assert_eq!(
            Phone::parse("19912345678").map(|p| p.kind),
            Ok(PhoneKind::Mobile)
        );
        for text in ["12812345678", "1381234567", "138123456789", "23812345678"] {
            assert!(Phone::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn landlines_need_their_area_code() {
        for (text, written) in [
            ("010-62345678", "010-62345678"),
            ("(010) 6234 5678", "010-62345678"),
            ("（021）5234567", "021-5234567"),
            ("0755-86001234", "0755-86001234"),
            ("075586001234", "0755-86001234"),
        ] {
            assert_eq!(number(text).as_deref(), Some(written), "{text}");
        }
        assert_eq!(Phone::parse("62345678"), Err(PhoneError::NoAreaCode));
        assert_eq!(Phone::parse("010-02345678"), Err(PhoneError::Unknown));
        assert_eq!(Phone::parse("0755-123"), Err(PhoneError::Unknown));
        assert_eq!(Phone::parse("00-62345678"), Err(PhoneError::Unknown));
    }

    #[test]
    fn what_is_no_number() {
        assert_eq!(Phone::parse(" - "), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("王先生"), Err(PhoneError::NotDigits));
        assert_eq!(Phone::parse("138+12345678"), Err(PhoneError::NotDigits));
        assert_eq!(Phone::parse("a@b.cn"), Err(PhoneError::NotDigits));
    }
}
