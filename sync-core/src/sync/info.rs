//! Notices that refuse nothing: what a server tells a device about a case its answer speaks of,
//! beside the messages. They travel as [`super::Notice`]s like refusals (the wire format has no
//! other place for a word about a case), so only a device that says it understands them gets
//! them: drivers before them take every notice as a refusal ([`super::RefusalCode`]).
//!
//! - `numbered`: the case's number, which the ledger gave when it first received the case and
//!   which no document holds (`text` is the number). Asked for with `POST /v1/sync?numbers=true`;
//!   sent for each case the answer brings the device for the first time (one it speaks of
//!   before any heads were shared with it, or one offered whole) that the user may see and that
//!   has a number. The device keeps it; [`super::DeviceSync`] hands it over in
//!   [`super::Answered::numbers`].

/// The stable code of a notice that is news of a case, not a refusal of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InfoCode {
    /// The number the server gave the case: the notice's text.
    Numbered,
}

impl InfoCode {
    /// Every code, for the published list and its test.
    pub const ALL: &'static [InfoCode] = &[InfoCode::Numbered];

    pub fn as_str(self) -> &'static str {
        match self {
            InfoCode::Numbered => "numbered",
        }
    }

    /// The code a notice carries, when it is one of these (anything else is a refusal).
    pub fn parse(code: &str) -> Option<InfoCode> {
        InfoCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

impl std::fmt::Display for InfoCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_and_nothing_else_does() {
        for code in InfoCode::ALL {
            assert_eq!(InfoCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(InfoCode::parse("out_of_scope"), None);
        assert_eq!(InfoCode::parse("Numbered"), None);
    }
}
