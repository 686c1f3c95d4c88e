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
    /// An event of a later release, refused while older handhelds still sync
    /// (`--refuse-later-events`).
    LaterEvent,
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
            RefusalCode::LaterEvent => "later_event",
            RefusalCode::OutOfScope => "out_of_scope",
            RefusalCode::DeliveredOutOfScope => "delivered_out_of_scope",
            RefusalCode::InvalidMessage => "invalid_message",
        }
    }
}

/// Every notice code a peer may send, with what it means: the published list (see
/// [`crate::schema`]). A test holds it complete. All are refusals but those of
/// [`super::InfoCode`] (last), which only a device that asked for them receives.
pub const NOTICE_CODES: &[(&str, &str)] = &[
    ("missing_header", "A new case arrived without its header: header and intake come in the case's first change."),
    ("header_edited", "A header field was written again, overwritten or removed: the header is written once."),
    ("root_edited", "A top-level key other than header, events and attachments was written, or one of those replaced."),
    ("event_deleted", "An existing event was deleted: events are append-only."),
    ("event_edited", "A field of an existing event was written, overwritten or removed."),
    ("event_forged", "A new event has a field written by another actor than the one that inserted it, a conflicting value, or an object where a scalar belongs."),
    ("bad_event", "A new event does not read: a missing or mistyped envelope field (a timestamp where an int belongs), or an event past its size bound."),
    ("bad_header", "A new case's header (or its layout) does not read: a missing or mistyped field, or one that is not a plain scalar (a text object, map or counter)."),
    ("bad_attachment", "A new attachment record does not read."),
    ("attachment_edited", "An existing attachment record was edited or deleted."),
    ("actor_not_bound", "A change came from an automerge actor not bound to the sending device (POST /v1/devices binds them)."),
    ("forged_author", "An event names an author or device other than the sender."),
    ("scope_revoked", "An event was written under a scope taken away from its author."),
    ("forged_scope", "An event claims a role or scope its author never held."),
    ("not_permitted", "An event's kind is one its author's role may never write (a grid worker filing)."),
    ("newer_schema", "The case is written in a document schema later than the receiver reads: update it."),
    ("later_event", "An event of a later release (a kind or fields the server does not know), refused while handhelds too old to keep such events still sync (the server's --refuse-later-events)."),
    ("out_of_scope", "The case lies outside the sender's scope: nothing of it is sent back."),
    ("delivered_out_of_scope", "The case lies outside the sender's scope now; what the sender wrote is stored (flagged), nothing else of it is sent back."),
    ("invalid_message", "The sync message could not be read or applied."),
    ("numbered", "Not a refusal: the number the server gave the case when it first received it (the notice's text), for a case the answer brings the device for the first time (one it speaks of before any heads were shared with it, or one offered whole) that the user may see. Sent only to a device that asked for it (POST /v1/sync?numbers=true); a device that did not ask never receives it."),
];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EventId;

    /// Every code a refusal can carry is in the published list, once.
    #[test]
    fn the_notice_codes_are_complete() {
        let listed: Vec<&str> = NOTICE_CODES.iter().map(|(c, _)| *c).collect();
        let mut unique = listed.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), listed.len(), "a code is listed twice");
        let s = String::new;
        let breaches = [
            Breach::MissingHeader,
            Breach::HeaderEdited { field: s() },
            Breach::RootEdited { key: s() },
            Breach::EventDeleted {
                event: EventId::new("e"),
            },
            Breach::EventEdited {
                event: EventId::new("e"),
                field: s(),
            },
            Breach::EventForged {
                event: s(),
                field: s(),
            },
            Breach::BadEvent {
                index: 0,
                reason: s(),
            },
            Breach::BadAttachment {
                index: 0,
                reason: s(),
            },
            Breach::AttachmentEdited { index: 0 },
        ];
        let codes = breaches
            .iter()
            .map(|b| RefusalCode::Breach(b.rule()))
            .chain([
                RefusalCode::ActorNotBound,
                RefusalCode::ForgedAuthor,
                RefusalCode::ScopeRevoked,
                RefusalCode::ForgedScope,
                RefusalCode::BadEvent,
                RefusalCode::NotPermitted,
                RefusalCode::NewerSchema,
                RefusalCode::LaterEvent,
                RefusalCode::OutOfScope,
                RefusalCode::DeliveredOutOfScope,
                RefusalCode::InvalidMessage,
            ]);
        for code in codes {
            assert!(listed.contains(&code.as_str()), "{code} is not published");
            assert_eq!(super::super::InfoCode::parse(code.as_str()), None, "{code}");
        }
        for code in super::super::InfoCode::ALL {
            assert!(listed.contains(&code.as_str()), "{code} is not published");
        }
    }

    /// A new refusal code does not compile until it is listed in the test above.
    #[allow(dead_code)]
    fn every_code_is_in_the_test(code: RefusalCode) {
        use RefusalCode::*;
        match code {
            Breach(_) | ActorNotBound | ForgedAuthor | ScopeRevoked | ForgedScope | BadEvent
            | NotPermitted | NewerSchema | LaterEvent | OutOfScope | DeliveredOutOfScope
            | InvalidMessage => {}
        }
    }
}
