//! Why a peer's changes to a case were refused, as a type: the code travels as a stable string
//! in a [`super::Notice`], the text is for people.

use crate::inspect::Breach;

/// The stable reason a case was refused or not answered, one per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// An append-only rule was broken (the breach's rule name, see [`Breach::rule`]).
    Breach(&'static str),
    /// A change came from an automerge actor not bound to the sending device.
    ActorNotBound,
    /// An event names an author or device other than the sender.
    ForgedAuthor,
    /// An event was written under a scope the author held once and lost.
    ScopeRevoked,
    /// An event claims a role or scope its author never held.
    ForgedScope,
    /// An event does not read.
    BadEvent,
    /// An event's kind is one its author's role may never write (a grid worker filing).
    NotPermitted,
    /// The case is written in a document schema later than this release reads: update.
    NewerSchema,
    /// The case lies outside the sender's scope: nothing of it is sent back.
    OutOfScope,
    /// The case lies outside the sender's scope now, but what the sender wrote to it is
    /// stored (flagged for the central office); nothing else of it is sent back.
    DeliveredOutOfScope,
    /// The message could not be read or applied.
    InvalidMessage,
}

impl RefusalCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::Breach(rule) => rule,
            RefusalCode::ActorNotBound => "actor_not_bound",
            RefusalCode::ForgedAuthor => "forged_author",
            RefusalCode::ScopeRevoked => "scope_revoked",
            RefusalCode::ForgedScope => "forged_scope",
            RefusalCode::BadEvent => "bad_event",
            RefusalCode::NotPermitted => "not_permitted",
            RefusalCode::NewerSchema => "newer_schema",
            RefusalCode::OutOfScope => "out_of_scope",
            RefusalCode::DeliveredOutOfScope => "delivered_out_of_scope",
            RefusalCode::InvalidMessage => "invalid_message",
        }
    }
}

impl std::fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal: its code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: RefusalCode,
    pub text: String,
}

impl Refusal {
    pub fn new(code: RefusalCode, text: impl Into<String>) -> Refusal {
        Refusal {
            code,
            text: text.into(),
        }
    }
}

impl From<&Breach> for Refusal {
    fn from(b: &Breach) -> Refusal {
        Refusal::new(RefusalCode::Breach(b.rule()), b.to_string())
    }
}
