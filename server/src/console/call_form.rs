//! The new-case form as the desk sends it, and its judgement: either a [`Call`] for the case
//! service, or what is wrong with which field. The form keeps every field as typed, so that a
//! refused form comes back exactly as it was sent.

use crate::addresses::{Lookup, Register};
use crate::callers::CallerInput;
use crate::cases::Call;
use gridcase_sync_core::event::{BusinessType, Channel, Filing, Intake};
use gridcase_sync_core::org::{Org, Territory};
use gridcase_sync_core::phone::{Phone, PhoneError};
use gridcase_sync_core::rules::may_ever;
use gridcase_sync_core::UnitId;
use gridcase_sync_core::{
    limits, Action, ActionKind, CaseId, Catalog, CategoryCode, GridId, Level, Role, Scope,
};
use std::collections::BTreeMap;

/// The fields of the form, in the order of the call (and of the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Token,
    Name,
    Phone,
    CallerAddress,
    Callback,
    BusinessType,
    Address,
    Grid,
    Coordinates,
    Category,
    Level,
    Description,
    Answer,
    Suggestion,
    Lead,
    Cooperating,
    Responsible,
}

impl Field {
    /// The form field's name (and its element's id, `f-<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Field::Token => "token",
            Field::Name => "caller_name",
            Field::Phone => "phone",
            Field::CallerAddress => "caller_address",
            Field::Callback => "callback",
            Field::BusinessType => "business_type",
            Field::Address => "address",
            Field::Grid => "grid",
            Field::Coordinates => "lon",
            Field::Category => "category",
            Field::Level => "level",
            Field::Description => "description",
            Field::Answer => "answer",
            Field::Suggestion => "suggestion",
            Field::Lead => "lead",
            Field::Cooperating => "cooperating",
            Field::Responsible => "responsible",
        }
    }
}

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Missing,
    /// More characters than the limit.
    TooLong(usize),
    PhoneInvalid,
    PhoneNoAreaCode,
    /// Not anonymous, and no phone to call back or identify the caller.
    PhoneNeeded,
    AnonymousCallback,
    /// A business type, category, level, grid or unit that does not exist (or, for a grid,
    /// lies outside the viewer's scope).
    Unknown,
    /// No address, grid or coordinates.
    PlaceNeeded,
    AddressUnknown,
    AddressAmbiguous,
    CoordinatesBad,
    CoordinatesOutside,
    /// Cooperating units or a responsible person without a lead unit.
    LeadNeeded,
    TooMany,
    /// The form's token is not one this server hands out: the form is replaced.
    Outdated,
    /// Answered directly, but not a consultation (the rule table refuses it too; named here
    /// at the field).
    AnswerOnlyConsultation,
    /// Answered directly by a role the rule table never lets answer.
    AnswerNotPermitted,
    /// A dispatch field filled in on a call answered directly.
    NotWithAnswer,
}

/// Every problem of a form, by field.
pub type Problems = BTreeMap<Field, Problem>;

/// The form as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallForm {
    /// The case id minted when the form was shown: the form's idempotency token.
    pub token: String,
    pub name: String,
    pub phone: String,
    /// Where the caller lives, when they say (kept in the caller register, not the case).
    pub caller_address: String,
    pub anonymous: bool,
    pub callback: bool,
    pub business_type: String,
    pub address: String,
    pub grid: String,
    pub lon: String,
    pub lat: String,
    pub category: String,
    pub level: String,
    pub description: String,
    /// 直接答复: the consultation is answered now and closed, not filed.
    pub answer_directly: bool,
    pub answer: String,
    pub suggestion: String,
    pub lead: String,
    pub cooperating: Vec<String>,
    pub responsible: String,
}

impl CallForm {
    /// An empty form with a fresh token; a caller is called back unless they say otherwise.
    pub fn fresh() -> CallForm {
        CallForm {
            token: CaseId::generate().to_string(),
            callback: true,
            ..CallForm::default()
        }
    }

    /// The form from its posted pairs (repeated `cooperating`); unknown names are ignored.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> CallForm {
        let mut form = CallForm::default();
        for (name, value) in pairs {
            let slot = match name.as_str() {
                "token" => &mut form.token,
                "caller_name" => &mut form.name,
                "phone" => &mut form.phone,
                "caller_address" => &mut form.caller_address,
                "answer" => &mut form.answer,
                "business_type" => &mut form.business_type,
                "address" => &mut form.address,
                "grid" => &mut form.grid,
                "lon" => &mut form.lon,
                "lat" => &mut form.lat,
                "category" => &mut form.category,
                "level" => &mut form.level,
                "description" => &mut form.description,
                "suggestion" => &mut form.suggestion,
                "lead" => &mut form.lead,
                "responsible" => &mut form.responsible,
                "anonymous" => {
                    form.anonymous = !value.is_empty();
                    continue;
                }
                "answer_directly" => {
                    form.answer_directly = !value.is_empty();
                    continue;
                }
                "callback" => {
                    form.callback = value == "yes";
                    continue;
                }
                "cooperating" => {
                    if !value.trim().is_empty() {
                        form.cooperating.push(value);
                    }
                    continue;
                }
                _ => continue,
            };
            *slot = value;
        }
        form
    }

    /// Judges the form for a viewer of `role` and `scope`: the call it describes, or every
    /// problem found. References (grid, category, units) are checked here against the
    /// organization and the catalog, and a direct answer against the business type, so each
    /// refusal is named at its field; the rule table still judges the events.
    pub fn check(
        &self,
        org: &Org,
        role: Role,
        scope: &Scope,
        register: &Register,
    ) -> Result<Call, Problems> {
        let mut problems = Problems::new();
        let mut problem = |field, p| {
            problems.entry(field).or_insert(p);
        };
        let case = CaseId::parse_generated(self.token.trim());
        if case.is_none() {
            problem(Field::Token, Problem::Outdated);
        }
        let reporter = self.caller().unwrap_or_else(|(f, p)| {
            problem(f, p);
            None
        });
        let business_type = match self.business_type.trim() {
            "" => Err(Problem::Missing),
            b => BusinessType::parse(b).ok_or(Problem::Unknown),
        }
        .map_err(|p| problem(Field::BusinessType, p))
        .ok();
        let coordinates = self
            .coordinates()
            .map_err(|()| problem(Field::Coordinates, Problem::CoordinatesBad));
        let territory = self
            .territory(org, scope, register, coordinates.unwrap_or(None))
            .map_err(|(f, p)| problem(f, p))
            .ok();
        let address = text(&self.address, limits::ADDRESS).map_err(|p| problem(Field::Address, p));
        // A consultation answered directly needs no category: there is nothing to dispatch.
        let category = match self.category() {
            Err(Problem::Missing) if self.answer_directly => Ok(None),
            found => found.map(Some),
        }
        .map_err(|p| problem(Field::Category, p));
        let level = match self.level.trim() {
            "" => Some(Level::General),
            l => Level::parse(l).or_else(|| {
                problem(Field::Level, Problem::Unknown);
                None
            }),
        };
        let description = match self.description.trim() {
            "" => Err(Problem::Missing),
            d => text(d, limits::DESCRIPTION).map(|d| d.unwrap_or_default()),
        }
        .map_err(|p| problem(Field::Description, p))
        .ok();
        let suggestion = text(&self.suggestion, limits::SUGGESTION)
            .map_err(|p| problem(Field::Suggestion, p))
            .ok()
            .flatten();
        let lead = match self.lead.trim() {
            "" => None,
            l => unit(org, l).or_else(|| {
                problem(Field::Lead, Problem::Unknown);
                None
            }),
        };
        let mut units: Vec<UnitId> = lead.iter().cloned().collect();
        for named in &self.cooperating {
            match unit(org, named.trim()) {
                Some(u) if !units.contains(&u) => units.push(u),
                Some(_) => {}
                None => problem(Field::Cooperating, Problem::Unknown),
            }
        }
        if units.len() > limits::UNITS {
            problem(Field::Cooperating, Problem::TooMany);
        }
        let lead_given = !self.lead.trim().is_empty();
        if !lead_given && !self.cooperating.is_empty() {
            problem(Field::Lead, Problem::LeadNeeded);
        }
        let responsible = text(&self.responsible, limits::PERSON_NAME)
            .map_err(|p| problem(Field::Responsible, p))
            .ok()
            .flatten();
        if !lead_given && responsible.is_some() {
            problem(Field::Responsible, Problem::LeadNeeded);
        }
        let answer = if self.answer_directly {
            self.answer_problems(role, business_type, &mut problem)
        } else {
            None
        };
        let (
            Some(case),
            Some(business_type),
            Ok(coordinates),
            Some(territory),
            Ok(address),
            Ok(category),
            Some(level),
            Some(description),
            true,
        ) = (
            case,
            business_type,
            coordinates,
            territory,
            address,
            category,
            level,
            description,
            problems.is_empty(),
        )
        else {
            return Err(problems);
        };
        let intake = Intake {
            channel: Channel::Hotline,
            reporter: None,
            description,
            territory,
            address,
            coordinates,
            category: category.clone(),
            photos: Vec::new(),
            media_url: None,
            business_type: Some(business_type),
            caller: None,
            // The caller's wish, kept with the intake; the filing below asks the same.
            callback: self.callback && !self.anonymous && answer.is_none(),
        };
        if let Some(answer) = answer {
            // Answered and closed at intake: no confirmation, filing or dispatch.
            return Ok(Call {
                case,
                intake,
                then: vec![Action::Answer { answer }],
                caller: reporter,
            });
        }
        // Only a direct answer goes without a category (checked above).
        let Some(category) = category else {
            return Err(Problems::from([(Field::Category, Problem::Missing)]));
        };
        let mut then = vec![
            // Confirmed on the telephone by the operator who took the call (核实).
            Action::Confirm {
                exists: true,
                note: String::new(),
            },
            Action::File(Filing {
                category,
                level,
                units,
                suggestion: suggestion.unwrap_or_default(),
                callback: self.callback && !self.anonymous,
            }),
        ];
        if let Some(unit) = lead {
            then.push(Action::Dispatch {
                unit,
                responsible,
                deadline: None,
                lead: false,
            });
        }
        Ok(Call {
            case,
            intake,
            then,
            caller: reporter,
        })
    }

    /// What is wrong with a direct answer, each named at its field; the answer when nothing
    /// is. Only a consultation is answered directly (the rule table says so too: checked here to
    /// name the field), only by a role the rule table lets answer, and nothing is dispatched.
    fn answer_problems(
        &self,
        role: Role,
        business_type: Option<BusinessType>,
        problem: &mut impl FnMut(Field, Problem),
    ) -> Option<String> {
        let answer = match self.answer.trim() {
            "" => Err(Problem::Missing),
            a => text(a, limits::NOTE).map(Option::unwrap_or_default),
        }
        .map_err(|p| problem(Field::Answer, p))
        .ok();
        if !may_ever(role, ActionKind::Answer) {
            problem(Field::Answer, Problem::AnswerNotPermitted);
        } else if business_type.is_some_and(|b| b != BusinessType::Consultation) {
            problem(Field::Answer, Problem::AnswerOnlyConsultation);
        }
        let dispatching = [
            (Field::Suggestion, !self.suggestion.trim().is_empty()),
            (Field::Lead, !self.lead.trim().is_empty()),
            (Field::Cooperating, !self.cooperating.is_empty()),
            (Field::Responsible, !self.responsible.trim().is_empty()),
        ];
        for (field, given) in dispatching {
            if given {
                problem(field, Problem::NotWithAnswer);
            }
        }
        answer
    }

    /// Who called: none when anonymous (then no name, phone or address is kept, whatever was
    /// typed). Also what the desk attaches to a suggested duplicate instead of opening a case.
    pub fn caller(&self) -> Result<Option<CallerInput>, (Field, Problem)> {
        if self.anonymous {
            if self.callback {
                return Err((Field::Callback, Problem::AnonymousCallback));
            }
            return Ok(None);
        }
        let name = text(&self.name, limits::PERSON_NAME)
            .map_err(|p| (Field::Name, p))?
            .unwrap_or_default();
        if self.phone.trim().is_empty() {
            return Err((Field::Phone, Problem::PhoneNeeded));
        }
        let phone = Phone::parse(&self.phone).map_err(|e| {
            let p = match e {
                PhoneError::NoAreaCode => Problem::PhoneNoAreaCode,
                _ => Problem::PhoneInvalid,
            };
            (Field::Phone, p)
        })?;
        let address =
            text(&self.caller_address, limits::ADDRESS).map_err(|p| (Field::CallerAddress, p))?;
        Ok(Some(CallerInput {
            name,
            phone: Some(phone.number),
            address,
            callback: self.callback,
            ..CallerInput::default()
        }))
    }

    /// (longitude, latitude), when both are given; `Err` when either is not a number, only
    /// one is given, or the point is off the globe.
    fn coordinates(&self) -> Result<Option<(f64, f64)>, ()> {
        match (self.lon.trim(), self.lat.trim()) {
            ("", "") => Ok(None),
            (lon, lat) => {
                let point = (
                    lon.parse::<f64>().map_err(drop)?,
                    lat.parse::<f64>().map_err(drop)?,
                );
                limits::check_point("coordinates", point).map_err(drop)?;
                Ok(Some(point))
            }
        }
    }

    /// Where the case lies: the grid chosen, else the grid holding the coordinates, else the
    /// address the register names exactly (what a page without its script sends). Always a
    /// grid of the viewer's scope.
    fn territory(
        &self,
        org: &Org,
        scope: &Scope,
        register: &Register,
        point: Option<(f64, f64)>,
    ) -> Result<Territory, (Field, Problem)> {
        let mine = |grid: &GridId| {
            org.territory(grid)
                .filter(|t| !matches!(scope, Scope::Unit(_)) && scope.covers(t))
        };
        if !self.grid.trim().is_empty() {
            let grid = GridId::from(self.grid.trim());
            return mine(&grid).ok_or((Field::Grid, Problem::Unknown));
        }
        if let Some((lon, lat)) = point {
            return org
                .grid_at(lon, lat)
                .and_then(mine)
                .ok_or((Field::Coordinates, Problem::CoordinatesOutside));
        }
        let unknown = (Field::Address, Problem::AddressUnknown);
        match self.address.trim() {
            "" => Err((Field::Address, Problem::PlaceNeeded)),
            typed => match register.lookup(typed) {
                Lookup::Found(a) => mine(&a.grid).ok_or(unknown),
                Lookup::Ambiguous(_) => Err((Field::Address, Problem::AddressAmbiguous)),
                Lookup::NotFound => Err(unknown),
            },
        }
    }

    /// The category typed or picked: a code (`C0101`, any case), a code followed by its name
    /// (what the page's list offers), or a name of the catalog in either language.
    fn category(&self) -> Result<CategoryCode, Problem> {
        let typed = self.category.trim();
        if typed.is_empty() {
            return Err(Problem::Missing);
        }
        let catalog = Catalog::standard();
        let first = typed.split_whitespace().next().unwrap_or_default();
        CategoryCode::parse(&first.to_ascii_uppercase())
            .filter(|c| catalog.get(c).is_some())
            .or_else(|| {
                catalog
                    .small_categories()
                    .iter()
                    .find(|c| c.name == typed || c.name_en.eq_ignore_ascii_case(typed))
                    .map(|c| c.code())
            })
            .ok_or(Problem::Unknown)
    }
}

/// A text within its limit; none when blank.
fn text(typed: &str, max: usize) -> Result<Option<String>, Problem> {
    let typed = typed.trim();
    if limits::too_long(typed, max) {
        return Err(Problem::TooLong(max));
    }
    Ok((!typed.is_empty()).then(|| typed.to_owned()))
}

/// The unit a text names: its id, its name, or its id followed by its name (what the page's
/// list offers).
fn unit(org: &Org, typed: &str) -> Option<UnitId> {
    let id = |s: &str| {
        let id = UnitId::from(s);
        org.units.contains_key(&id).then_some(id)
    };
    id(typed)
        .or_else(|| typed.split_whitespace().next().and_then(id))
        .or_else(|| {
            org.units
                .iter()
                .find(|(_, u)| u.name == typed)
                .map(|(id, _)| id.clone())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> CallForm {
        CallForm {
            name: "王女士".into(),
            phone: "138 1234 5678".into(),
            callback: true,
            business_type: "complaint".into(),
            address: "韶九胡同8号".into(),
            category: "C0101 上水井盖".into(),
            level: "urgent".into(),
            description: "井盖松动，有响声".into(),
            lead: "u1 城管执法队".into(),
            cooperating: vec!["u2".into(), "u1".into()],
            responsible: "张队长".into(),
            ..CallForm::fresh()
        }
    }

    fn check(f: &CallForm) -> Result<Call, Problems> {
        f.check(
            &crate::demo::org(),
            Role::DistrictCenter,
            &Scope::District,
            &Register::demo(),
        )
    }

    #[test]
    fn a_whole_call_is_an_intake_a_confirmation_a_filing_and_a_dispatch() {
        let call = check(&form()).expect("a valid call");
        assert_eq!(
            call.intake.territory.grid.as_str(),
            "g1",
            "from the register"
        );
        assert_eq!(call.intake.business_type, Some(BusinessType::Complaint));
        assert_eq!(call.intake.reporter, None, "never in the document");
        assert_eq!(
            call.caller.as_ref().and_then(|c| c.phone.as_deref()),
            Some("13812345678")
        );
        let kinds: Vec<&str> = call.then.iter().map(|a| a.kind().as_str()).collect();
        assert_eq!(kinds, ["confirm", "file", "dispatch"]);
        match &call.then[1] {
            Action::File(f) => {
                let units: Vec<&str> = f.units.iter().map(UnitId::as_str).collect();
                assert_eq!(units, ["u1", "u2"], "the lead first, each unit once");
                assert_eq!(f.level, Level::Urgent);
                assert!(f.callback);
            }
            other => panic!("{other:?}"),
        }
        let no_lead = CallForm {
            lead: String::new(),
            cooperating: vec![],
            responsible: String::new(),
            ..form()
        };
        let call = check(&no_lead).expect("valid without a lead");
        assert_eq!(call.then.len(), 2, "filed, not dispatched");
    }

    #[test]
    fn a_consultation_answered_directly_is_an_intake_and_an_answer() {
        let consultation = CallForm {
            business_type: "consultation".into(),
            category: String::new(),
            lead: String::new(),
            cooperating: vec![],
            responsible: String::new(),
            suggestion: String::new(),
            answer_directly: true,
            answer: " 垃圾分类投放时间为早7点至9点 ".into(),
            caller_address: "多福巷3号".into(),
            ..form()
        };
        let call = check(&consultation).expect("a direct answer");
        let kinds: Vec<&str> = call.then.iter().map(|a| a.kind().as_str()).collect();
        assert_eq!(kinds, ["answer"]);
        assert_eq!(
            call.then[0],
            Action::Answer {
                answer: "垃圾分类投放时间为早7点至9点".into()
            }
        );
        assert_eq!(call.intake.category, None, "no category needed");
        assert_eq!(
            call.caller.and_then(|c| c.address).as_deref(),
            Some("多福巷3号")
        );
        // Each way to get it wrong, named at its field.
        let problems = |f: CallForm, role: Role| {
            f.check(
                &crate::demo::org(),
                role,
                &Scope::District,
                &Register::demo(),
            )
            .expect_err("refused")
        };
        let complaint = CallForm {
            business_type: "complaint".into(),
            ..consultation.clone()
        };
        assert_eq!(
            problems(complaint, Role::DistrictCenter).get(&Field::Answer),
            Some(&Problem::AnswerOnlyConsultation)
        );
        assert_eq!(
            problems(consultation.clone(), Role::CommunityWorkstation).get(&Field::Answer),
            Some(&Problem::AnswerNotPermitted)
        );
        let empty = CallForm {
            answer: "  ".into(),
            ..consultation.clone()
        };
        assert_eq!(
            problems(empty, Role::DistrictCenter).get(&Field::Answer),
            Some(&Problem::Missing)
        );
        let dispatched = CallForm {
            lead: "u1".into(),
            responsible: "张队长".into(),
            ..consultation.clone()
        };
        let found = problems(dispatched, Role::DistrictCenter);
        assert_eq!(found.get(&Field::Lead), Some(&Problem::NotWithAnswer));
        assert_eq!(
            found.get(&Field::Responsible),
            Some(&Problem::NotWithAnswer)
        );
        // Not answered directly, a consultation is filed like any call: its category counts.
        let filed = CallForm {
            answer_directly: false,
            ..consultation
        };
        assert_eq!(
            check(&filed)
                .err()
                .and_then(|p| p.get(&Field::Category).copied()),
            Some(Problem::Missing)
        );
    }

    #[test]
    fn an_anonymous_call_keeps_no_name_or_phone() {
        let anonymous = CallForm {
            anonymous: true,
            callback: false,
            phone: "not a number".into(),
            ..form()
        };
        let call = check(&anonymous).expect("valid");
        assert_eq!(call.intake.reporter, None);
        assert_eq!(call.caller, None);
        let called_back = CallForm {
            callback: true,
            ..anonymous
        };
        assert_eq!(
            check(&called_back)
                .err()
                .and_then(|p| p.get(&Field::Callback).copied()),
            Some(Problem::AnonymousCallback)
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(CallForm, Field, Problem)> = vec![
            (
                CallForm {
                    phone: "12345".into(),
                    ..form()
                },
                Field::Phone,
                Problem::PhoneInvalid,
            ),
            (
                CallForm {
                    phone: "62345678".into(),
                    ..form()
                },
                Field::Phone,
                Problem::PhoneNoAreaCode,
            ),
            (
                CallForm {
                    phone: " ".into(),
                    ..form()
                },
                Field::Phone,
                Problem::PhoneNeeded,
            ),
            (
                CallForm {
                    category: "C9999".into(),
                    ..form()
                },
                Field::Category,
                Problem::Unknown,
            ),
            (
                CallForm {
                    category: String::new(),
                    ..form()
                },
                Field::Category,
                Problem::Missing,
            ),
            (
                CallForm {
                    lead: "u9 没有的单位".into(),
                    ..form()
                },
                Field::Lead,
                Problem::Unknown,
            ),
            (
                CallForm {
                    lead: String::new(),
                    responsible: String::new(),
                    ..form()
                },
                Field::Lead,
                Problem::LeadNeeded,
            ),
            (
                CallForm {
                    description: "  ".into(),
                    ..form()
                },
                Field::Description,
                Problem::Missing,
            ),
            (
                CallForm {
                    description: "井".repeat(limits::DESCRIPTION + 1),
                    ..form()
                },
                Field::Description,
                Problem::TooLong(limits::DESCRIPTION),
            ),
            (
                CallForm {
                    business_type: String::new(),
                    ..form()
                },
                Field::BusinessType,
                Problem::Missing,
            ),
            (
                CallForm {
                    address: "不存在的路1号".into(),
                    ..form()
                },
                Field::Address,
                Problem::AddressUnknown,
            ),
            (
                CallForm {
                    address: String::new(),
                    ..form()
                },
                Field::Address,
                Problem::PlaceNeeded,
            ),
            (
                CallForm {
                    grid: "g9".into(),
                    ..form()
                },
                Field::Grid,
                Problem::Unknown,
            ),
            (
                CallForm {
                    lon: "116.4".into(),
                    ..form()
                },
                Field::Coordinates,
                Problem::CoordinatesBad,
            ),
            (
                CallForm {
                    caller_address: "路".repeat(limits::ADDRESS + 1),
                    ..form()
                },
                Field::CallerAddress,
                Problem::TooLong(limits::ADDRESS),
            ),
            (
                CallForm {
                    token: "not-a-token".into(),
                    ..form()
                },
                Field::Token,
                Problem::Outdated,
            ),
        ];
        for (f, field, expected) in cases {
            let problems = check(&f).expect_err("refused");
            assert_eq!(
                problems.get(&field),
                Some(&expected),
                "{field:?}: {problems:?}"
            );
        }
    }

    #[test]
    fn the_place_comes_from_the_grid_then_the_coordinates_then_the_address() {
        let by_point = CallForm {
            address: String::new(),
            lon: "116.4125".into(),
            lat: "39.9125".into(),
            ..form()
        };
        let call = check(&by_point).expect("valid");
        assert_eq!(call.intake.territory.grid.as_str(), "g3");
        assert_eq!(call.intake.coordinates, Some((116.4125, 39.9125)));
        let by_grid = CallForm {
            grid: "g4".into(),
            ..by_point
        };
        assert_eq!(
            check(&by_grid).map(|c| c.intake.territory.grid),
            Ok(GridId::from("g4"))
        );
        // A street center's desk places nothing outside its street.
        let street = Scope::Street("s1".into());
        let outside = CallForm {
            grid: "g4".into(),
            ..form()
        };
        let problems = outside
            .check(
                &crate::demo::org(),
                Role::StreetCenter,
                &street,
                &Register::demo(),
            )
            .expect_err("g4 lies in s2");
        assert_eq!(problems.get(&Field::Grid), Some(&Problem::Unknown));
    }

    #[test]
    fn the_posted_pairs_make_the_form() {
        let pairs = [
            ("token", "t"),
            ("caller_name", "王"),
            ("anonymous", "1"),
            ("callback", "no"),
            ("caller_address", "韶九胡同1号"),
            ("answer_directly", "1"),
            ("answer", "已答复"),
            ("cooperating", "u2"),
            ("cooperating", ""),
            ("cooperating", "u3"),
            ("surprise", "ignored"),
        ];
        let form = CallForm::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        assert_eq!(form.token, "t");
        assert_eq!(form.name, "王");
        assert!(form.anonymous && !form.callback);
        assert!(form.answer_directly);
        assert_eq!(
            (form.caller_address.as_str(), form.answer.as_str()),
            ("韶九胡同1号", "已答复")
        );
        assert_eq!(form.cooperating, ["u2", "u3"]);
    }
}
