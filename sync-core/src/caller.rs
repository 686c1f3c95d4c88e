//! A caller (来电人) as the center's caller register takes one: who they are, how to call them
//! back, and how much of that a viewer who may only recognise them is shown. One rule for the
//! hotline desk, the handheld that takes a walk-in resident and the server that keeps the
//! register, so that a caller accepted on one is accepted on all and written the same way.
//!
//! Not part of the case document: a caller's personal data never enters it (the intake and
//! `caller_added` name a record by id); see the server's `callers` module.

use crate::limits;
use crate::phone::{Phone, PhoneError, PhoneKind};
use serde::{Deserialize, Serialize};

/// A caller as taken down.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Caller {
    #[serde(default)]
    pub name: String,
    /// A telephone number, as typed; [`Caller::checked`] writes it one way (`sync_core::phone`).
    #[serde(default)]
    pub phone: Option<String>,
    /// Another way to reach them (an e-mail address).
    #[serde(default)]
    pub contact: Option<String>,
    /// Where the caller lives, when they said (not the case's place).
    #[serde(default)]
    pub address: Option<String>,
    /// Whether they want to be called back (回访).
    #[serde(default)]
    pub callback: bool,
    /// Whether the caller stayed anonymous: then nothing personal is kept, and no callback is
    /// possible.
    #[serde(default)]
    pub anonymous: bool,
}

/// Why a caller was refused: the field and what to fix. Never the value typed: refusals reach
/// logs and error bodies, where personal data must not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerProblem {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for CallerProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Text as given, or `None` when blank.
fn given(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

impl Caller {
    /// The caller written the one way the register keeps it: trimmed, the phone number in its
    /// written form, every field within its bound. An anonymous caller leaves nothing personal
    /// and cannot be called back; anyone else gives a name, a phone number or another contact;
    /// a callback needs a number or a contact to call back on.
    pub fn checked(self) -> Result<Caller, CallerProblem> {
        let problem = |field: &'static str, message: &str| CallerProblem {
            field,
            message: message.to_owned(),
        };
        let name = self.name.trim().to_owned();
        let phone = match given(self.phone) {
            None => None,
            Some(typed) => Some(Phone::parse(&typed).map(|p| p.number).map_err(|e| {
                problem(
                    "phone",
                    match e {
                        PhoneError::NoAreaCode => {
                            "a landline number needs its area code (010-62345678)"
                        }
                        PhoneError::NotDigits => {
                            "a phone number holds only digits, spaces, hyphens, parentheses and a leading +86"
                        }
                        PhoneError::Empty | PhoneError::Unknown => {
                            "not a telephone number: give a mobile number (11 digits, 1[3-9]…) or a landline with its area code"
                        }
                    },
                )
            })?),
        };
        let contact = given(self.contact);
        let address = given(self.address);
        if self.anonymous {
            if !name.is_empty() || phone.is_some() || contact.is_some() || address.is_some() {
                return Err(problem(
                    "anonymous",
                    "an anonymous caller leaves no name, phone, contact or address",
                ));
            }
            if self.callback {
                return Err(problem(
                    "callback",
                    "an anonymous caller cannot be called back",
                ));
            }
        } else if name.is_empty() && phone.is_none() && contact.is_none() {
            return Err(problem(
                "name",
                "give the caller's name or phone number, or take the caller as anonymous",
            ));
        }
        if self.callback && phone.is_none() && contact.is_none() {
            return Err(problem(
                "phone",
                "a callback needs the caller's phone number (or another contact)",
            ));
        }
        let bounded = |field: &'static str, text: Option<&str>, max: usize| match text {
            Some(t) if limits::too_long(t, max) => Err(CallerProblem {
                field,
                message: format!("at most {max} characters"),
            }),
            _ => Ok(()),
        };
        bounded("name", Some(&name), limits::PERSON_NAME)?;
        bounded("contact", contact.as_deref(), limits::CONTACT)?;
        bounded("address", address.as_deref(), limits::ADDRESS)?;
        Ok(Caller {
            name,
            phone,
            contact,
            address,
            callback: self.callback,
            anonymous: self.anonymous,
        })
    }
}

/// Whether a text is a caller record's id: 32 lower-case hex digits, the form of a case id.
/// The only thing about a caller a case document may hold.
pub fn is_caller_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether a caller called back was unhappy: the problem not solved, or dissatisfied. What
/// allows a follow-up (reopening, 督办) and what the indicators hold against the unit.
pub fn unhappy(solved: Option<bool>, satisfaction: Option<crate::event::Satisfaction>) -> bool {
    solved == Some(false) || satisfaction == Some(crate::event::Satisfaction::Dissatisfied)
}

/// A name as one who may only recognise a caller sees it: its first character and one `*`
/// (`王*`), which tells neither the name nor its length.
pub fn mask_name(name: &str) -> String {
    match name.chars().next() {
        Some(first) => format!("{first}*"),
        None => String::new(),
    }
}

/// A number with all but its last four digits hidden: a mobile number keeps its first three
/// (`138****8000`), a landline its area code (`010-****5678`). Enough to recognise a caller,
/// nothing to dial.
pub fn mask_phone(number: &str) -> String {
    let stars = |digits: &str, keep_front: usize| -> String {
        let n = digits.chars().count();
        let keep_back = 4.min(n.saturating_sub(keep_front));
        digits
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i < keep_front || i >= n - keep_back {
                    c
                } else {
                    '*'
                }
            })
            .collect()
    };
    match Phone::parse(number) {
        Ok(Phone {
            kind: PhoneKind::Mobile,
            number,
        }) => stars(&number, 3),
        Ok(Phone {
            kind: PhoneKind::Landline,
            number,
        }) => match number.split_once('-') {
            Some((area, local)) => format!("{area}-{}", stars(local, 0)),
            None => stars(&number, 0),
        },
        // Not a number this module wrote (an e-mail, a damaged record): all but the last four.
        Err(_) => stars(number, 0),
    }
}

/// Another contact as one who may only recognise a caller sees it: one plain e-mail address
/// keeps its first character and its domain (`w*@example.org`); anything else (several
/// contacts in one text, a number) shows its first character only, like a name.
pub fn mask_contact(contact: &str) -> String {
    let plain = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
    };
    match contact.trim().split_once('@') {
        Some((user, domain))
            if plain(user) && plain(domain) && domain.contains('.') && !domain.contains('@') =>
        {
            format!("{}@{domain}", mask_name(user))
        }
        _ => mask_name(contact.trim()),
    }
}

/// A contact as given (an e-mail address, a phone number, or both, as Open311 sends them)
/// split into a phone number in its written form and the rest, so that a number is indexed for
/// the callback and masked like one.
pub fn split_contact(contact: &str) -> (Option<String>, Option<String>) {
    let mut phone = None;
    let mut rest = Vec::new();
    for part in contact.split_whitespace() {
        match Phone::parse(part) {
            Ok(p) if phone.is_none() => phone = Some(p.number),
            _ => rest.push(part),
        }
    }
    let rest = (!rest.is_empty()).then(|| rest.join(" "));
    match (phone, rest) {
        // A number typed with spaces ("138 1234 8000") is one number.
        (None, Some(r)) => match Phone::parse(&r) {
            Ok(p) => (Some(p.number), None),
            Err(_) => (None, Some(r)),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_show_enough_to_recognise_and_nothing_to_dial() {
        assert_eq!(mask_phone("13812348000"), "138****8000");
        assert_eq!(mask_phone("010-62345678"), "010-****5678");
        assert_eq!(mask_phone("0755-8600123"), "0755-***0123");
        assert_eq!(mask_phone("123"), "123");
        assert_eq!(mask_name("王小明"), "王*");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_contact("wang@example.org"), "w*@example.org");
        // Open311's "email phone": no part of the number shows.
        assert_eq!(mask_contact("wang@example.org 13812348000"), "w*");
        assert_eq!(mask_contact("a@b@c.org"), "a*");
    }

    #[test]
    fn contacts_split_into_a_number_and_the_rest() {
        assert_eq!(
            split_contact("wang@example.org 13812348000"),
            (Some("13812348000".into()), Some("wang@example.org".into()))
        );
        assert_eq!(
            split_contact("138 1234 8000"),
            (Some("13812348000".into()), None)
        );
        assert_eq!(
            split_contact("wang@example.org"),
            (None, Some("wang@example.org".into()))
        );
        assert_eq!(split_contact(""), (None, None));
        assert!(is_caller_id("0190a1b2c3d4e5f60718293a4b5c6d7e"));
        assert!(!is_caller_id("13812348000"));
        assert!(!is_caller_id("0190A1B2C3D4E5F60718293A4B5C6D7E"));
    }

    #[test]
    fn a_caller_is_written_one_way_and_hangs_together() {
        let taken = Caller {
            name: " 王女士 ".into(),
            phone: Some("+86 138 1234 8000".into()),
            callback: true,
            ..Caller::default()
        };
        let checked = taken.checked().expect("a caller");
        assert_eq!(checked.name, "王女士");
        assert_eq!(checked.phone.as_deref(), Some("13812348000"));
        let field = |c: Caller| c.checked().map_err(|p| p.field);
        let bad = Caller {
            name: "x".into(),
            phone: Some("12345".into()),
            ..Caller::default()
        };
        let refusal = bad.clone().checked().expect_err("not a number");
        assert!(!refusal.message.contains("12345"), "no number in refusals");
        assert_eq!(field(bad), Err("phone"));
        let unreachable = Caller {
            name: "x".into(),
            callback: true,
            ..Caller::default()
        };
        assert_eq!(field(unreachable), Err("phone"));
        assert_eq!(field(Caller::default()), Err("name"), "nobody");
        let anonymous = Caller {
            anonymous: true,
            ..Caller::default()
        };
        assert!(anonymous.clone().checked().is_ok());
        let named = Caller {
            name: "x".into(),
            ..anonymous.clone()
        };
        assert_eq!(field(named), Err("anonymous"));
        let called = Caller {
            callback: true,
            ..anonymous
        };
        assert_eq!(field(called), Err("callback"));
        let long = Caller {
            name: "名".repeat(limits::PERSON_NAME + 1),
            ..Caller::default()
        };
        assert_eq!(field(long), Err("name"));
    }
}
