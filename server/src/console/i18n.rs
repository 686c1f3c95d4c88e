//! The console's words in Chinese (the default: the district center works in it) and English.
//! Every string lives in one `Text` per language, so a missing translation is a compile error.

use gridcase_sync_core::event::{BusinessType, Channel, DeclineReason, Satisfaction};
use gridcase_sync_core::fold::{Conflict, ConflictReason, Disposition};
use gridcase_sync_core::{ActionKind, Event, EventId, Level, Role, Status};
use std::collections::HashMap;

/// The kind and author of a case's events, by id: what a conflict is explained with.
pub type Authors = HashMap<EventId, (ActionKind, String)>;

pub fn authors<'a>(events: impl IntoIterator<Item = &'a Event>) -> Authors {
    events
        .into_iter()
        .map(|e| (e.id.clone(), (e.kind(), e.author.to_string())))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// From the `gc_lang` cookie's value; anything else is Chinese.
    pub fn parse(s: Option<&str>) -> Lang {
        match s {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// The name of one of the indicator counts (`Indicators::counts`), as a figure's case
    /// list shows it; the Chinese is the export's column name.
    pub fn count(self, name: &str) -> &'static str {
        let en = match name {
            "filed" => "filed",
            "due" => "due",
            "closed" => "closed",
            "closed_on_time" => "closed on time",
            "closed_in_period" => "closed in period",
            "verifications" => "verifications",
            "rework" => "failed verifications",
            "overdue" => "overdue",
            "extended" => "extensions",
            "voided" => "voided",
            "evaluated" => "evaluated",
            "satisfied" => "evaluated satisfied",
            "dissatisfied" => "evaluated dissatisfied",
            "received" => "received",
            "answered_directly" => "answered at intake",
            "called_back" => "callbacks",
            "called_back_satisfied" => "callbacks satisfied",
            "called_back_solved" => "callbacks solved",
            "called_back_solved_answers" => "callbacks answering solved or not",
            "called_back_dissatisfied" => "callbacks dissatisfied",
            "dispatches" => "dispatches",
            "returns" => "returns",
            "acknowledged" => "acknowledged",
            "response_judged" => "responses judged",
            "acknowledged_on_time" => "acknowledged on time",
            "response_ms" => "response time in all (ms)",
            _ => "?",
        };
        match self {
            Lang::Zh => crate::cases::export::indicator_label(name).unwrap_or("?"),
            Lang::En => en,
        }
    }

    pub fn status(self, s: Option<Status>) -> &'static str {
        let Some(s) = s else { return "—" };
        let (zh, en) = match s {
            Status::Reported => ("已上报", "Reported"),
            Status::AwaitingConfirmation => ("待核实", "Awaiting confirmation"),
            Status::Filed => ("已立案", "Filed"),
            Status::Declined => ("不予立案", "Declined"),
            Status::Dispatched => ("已派遣", "Dispatched"),
            Status::InProgress => ("处置中", "In progress"),
            Status::AwaitingVerification => ("待核查", "Awaiting verification"),
            Status::Verified => ("已核查", "Verified"),
            Status::Rework => ("返工", "Rework"),
            Status::Held => ("挂账", "On hold"),
            Status::Closed => ("已结案", "Closed"),
            Status::Evaluated => ("已评价", "Evaluated"),
            Status::Voided => ("已作废", "Voided"),
        };
        self.pick(zh, en)
    }

    /// A step of the seven-step loop, 1–7.
    pub fn step(self, n: u8) -> &'static str {
        let (zh, en) = match n {
            1 => ("采集受理", "Intake"),
            2 => ("案卷建立", "Filing"),
            3 => ("指挥派遣", "Dispatch"),
            4 => ("任务处理", "Handling"),
            5 => ("处理反馈", "Feedback"),
            6 => ("核查结案", "Verification and closing"),
            7 => ("综合评价", "Evaluation"),
            _ => ("—", "—"),
        };
        self.pick(zh, en)
    }

    pub fn kind(self, k: ActionKind) -> &'static str {
        use ActionKind as K;
        let (zh, en) = match k {
            K::Intake => ("采集受理", "Intake"),
            K::Confirm => ("核实", "Confirm"),
            K::File => ("立案", "File"),
            K::Decline => ("不予立案", "Decline"),
            K::Dispatch => ("派遣", "Dispatch"),
            K::Handle => ("处置", "Handle"),
            K::Return => ("退回", "Return"),
            K::Feedback => ("处置反馈", "Feedback"),
            K::Verify => ("核查", "Verify"),
            K::Close => ("结案", "Close"),
            K::Evaluate => ("综合评价", "Evaluate"),
            K::Extend => ("延期", "Extend"),
            K::Acknowledge => ("签收", "Acknowledge"),
            K::ExtensionRequest => ("延期申请", "Extension request"),
            K::RefuseExtension => ("驳回延期", "Refuse extension"),
            K::SelfHandle => ("自处理", "Self-handle"),
            K::Hold => ("挂账", "Hold"),
            K::Release => ("解除挂账", "Release"),
            K::Void => ("作废", "Void"),
            K::Comment => ("备注", "Comment"),
            K::Attach => ("附件", "Attach"),
            K::MarkDuplicate => ("标记重复", "Mark duplicate"),
            K::Reopen => ("重新打开", "Reopen"),
            K::Escalate => ("上报升级", "Escalate"),
            K::Answer => ("直接答复", "Answered directly"),
            K::CallerAdded => ("追加来电人", "Caller added"),
            K::Callback => ("回访", "Callback"),
            K::Resolve => ("冲突裁定", "Resolve"),
            K::Adopt => (
                "冲突裁定 (采纳被覆盖的一方)",
                "Resolve (superseded side taken)",
            ),
            K::Unknown => ("本版本不认识的操作", "An action this version does not know"),
        };
        self.pick(zh, en)
    }

    pub fn decline_reason(self, r: DeclineReason) -> &'static str {
        let (zh, en) = match r {
            DeclineReason::Duplicate => ("重复案件", "Duplicate"),
            DeclineReason::OutOfJurisdiction => ("不属于管辖范围", "Out of jurisdiction"),
            DeclineReason::NotActionable => ("无法处置", "Not actionable"),
            DeclineReason::NotFound => ("现场未发现问题", "Not found on site"),
        };
        self.pick(zh, en)
    }

    pub fn role(self, r: Role) -> &'static str {
        let (zh, en) = match r {
            Role::Admin => ("系统管理员", "Administrator"),
            Role::DistrictCenter => ("区中心", "District center"),
            Role::StreetCenter => ("街道分中心", "Street center"),
            Role::CommunityWorkstation => ("社区工作站", "Community workstation"),
            Role::GridWorker => ("网格员", "Grid worker"),
            Role::UnitHandler => ("处置单位", "Unit handler"),
            Role::Supervisor => ("监督考评", "Supervisor"),
            Role::IntakeChannel => ("受理渠道", "Intake channel"),
        };
        self.pick(zh, en)
    }

    pub fn disposition(self, d: Disposition) -> &'static str {
        let (zh, en) = match d {
            Disposition::Applied => ("生效", "applied"),
            Disposition::Concurred => ("一致", "concurred"),
            Disposition::Superseded => ("被覆盖", "superseded"),
        };
        self.pick(zh, en)
    }

    pub fn conflict_reason(self, r: &ConflictReason) -> &'static str {
        let (zh, en) = match r {
            ConflictReason::Concurrent => ("并发操作", "concurrent transitions"),
            ConflictReason::Rule(_) => ("违反规则", "breaks a rule"),
            ConflictReason::DuplicateId => ("重复编号", "duplicate id"),
        };
        self.pick(zh, en)
    }

    /// A conflict in the reader's language, from the kinds and authors of the events it names;
    /// the fold's own message (English, for logs and the API) is the fallback.
    pub fn conflict(self, conflict: &Conflict, authors: &Authors) -> String {
        let name = |id: &EventId| {
            authors
                .get(id)
                .map(|(kind, author)| format!("{}（{author}）", self.kind(*kind)))
        };
        let Some(event) = name(&conflict.event) else {
            return conflict.message.clone();
        };
        let against: Vec<String> = conflict.against.iter().filter_map(name).collect();
        let against = against.join(self.pick("、", ", "));
        match (&conflict.reason, self) {
            (ConflictReason::Concurrent, Lang::Zh) => {
                format!("{event}是在未看到{against}的情况下做出的，合并后被覆盖")
            }
            (ConflictReason::Concurrent, Lang::En) => {
                format!("{event} was made without seeing {against}, which now precedes it")
            }
            (ConflictReason::Rule(code), Lang::Zh) => {
                format!("{event}在合并后的顺序中违反规则（{}）", code.as_str())
            }
            (ConflictReason::Rule(code), Lang::En) => format!(
                "{event} breaks a rule at its place in the merged order ({})",
                code.as_str()
            ),
            (ConflictReason::DuplicateId, _) => conflict.message.clone(),
        }
    }

    /// Why an action from a form was refused, from the error's stable code (never text from
    /// the address bar: a link cannot put words in the console's mouth).
    pub fn refusal(self, code: &str) -> &'static str {
        let (zh, en) = match code {
            "wrong_status" => (
                "案件当前状态不允许此操作",
                "the case's status does not allow this",
            ),
            "not_permitted" => ("您的角色无权进行此操作", "your role may not do this"),
            "out_of_scope" => ("案件不在您的管辖范围内", "the case is outside your scope"),
            "not_assigned" => (
                "案件未派遣给您的单位",
                "the case is not dispatched to your unit",
            ),
            "invalid_payload" => (
                "填写的内容无效或超出长度限制",
                "what was filled in is not valid or too long",
            ),
            "unknown_reference" => (
                "所填的单位、网格、类别或案件不存在",
                "the unit, grid, category or case named does not exist",
            ),
            "invalid_scope" => (
                "您的角色与管辖范围不符",
                "your role does not fit your scope",
            ),
            "bad_request" => ("表单不完整或有误", "the form is incomplete or wrong"),
            "forbidden" => ("您的角色无权进行此操作", "your role may not do this"),
            // The console's own codes for a caller's or a callback's fields.
            "phone_invalid" => (DESK_ZH.phone_invalid, DESK_EN.phone_invalid),
            "phone_no_area_code" => (DESK_ZH.phone_no_area_code, DESK_EN.phone_no_area_code),
            "phone_needed" => (DESK_ZH.phone_needed, DESK_EN.phone_needed),
            "anonymous_callback" => (DESK_ZH.anonymous_callback, DESK_EN.anonymous_callback),
            "too_long" => ("填写的内容过长", "what was filled in is too long"),
            // A step's required field left empty: refused before anything is written.
            "reason_required" => (
                "请填写理由：未填写理由，未作任何记录",
                "a reason is required: nothing was recorded",
            ),
            "note_required" => (
                "请填写说明：未填写说明，未作任何记录",
                "a note is required: nothing was recorded",
            ),
            "of_required" => (
                "请填写所重复的案件编号或案件ID",
                "give the number or id of the case this one duplicates",
            ),
            "duplicate_unknown" => (
                "您的管辖范围内没有该编号或ID的案件，未作任何记录",
                "no case with that number or id in your scope: nothing was recorded",
            ),
            // A step's photos: refused before anything is written.
            "not_an_image" => (
                "只能上传 JPEG、PNG 或 WebP 格式的图片，未作任何记录",
                "only JPEG, PNG or WebP images can be added: nothing was recorded",
            ),
            "photo_too_large" => (
                "照片文件过大，未作任何记录",
                "a photo is too large: nothing was recorded",
            ),
            "too_many_photos" => (
                // The number said here is `limits::PHOTOS` (asserted below).
                "照片数量超过上限（每次最多 20 张），未作任何记录",
                "too many photos (at most 20 at a time): nothing was recorded",
            ),
            "upload_too_large" => (
                "上传的内容过大，请减少照片后重试，未作任何记录",
                "the upload is too large; send fewer photos: nothing was recorded",
            ),
            "follow_up_unhappy" => (
                "只有回访接通且来电人不满意或问题未解决时，才能重新办理或转督办",
                "a case is worked again or sent to the supervisor only after a callback that \
                 reached a caller who was dissatisfied or whose problem was not solved",
            ),
            _ => ("操作未能完成", "the action could not be done"),
        };
        self.pick(zh, en)
    }

    /// An extension, as the timeline shows it.
    // (`too_many_photos` above says 20.)
    const _PHOTOS_SAID: () = assert!(gridcase_sync_core::limits::PHOTOS == 20);

    pub fn extension(self, hours: u32, reason: &str) -> String {
        match self {
            Lang::Zh => format!("延长 {hours} 工作小时 · {reason}"),
            Lang::En => format!("+{hours} working hours · {reason}"),
        }
    }

    pub fn level(self, l: Level) -> &'static str {
        match self {
            Lang::Zh => l.name(),
            Lang::En => match l {
                Level::General => "General",
                Level::Important => "Important",
                Level::Urgent => "Urgent",
            },
        }
    }

    pub fn channel(self, c: Channel) -> &'static str {
        let (zh, en) = match c {
            Channel::Hotline => ("热线", "Hotline"),
            Channel::Patrol => ("巡查", "Patrol"),
            Channel::WalkIn => ("来访", "Walk-in"),
            Channel::Web => ("网络", "Web"),
        };
        self.pick(zh, en)
    }

    pub fn satisfaction(self, s: Satisfaction) -> &'static str {
        let (zh, en) = match s {
            Satisfaction::Satisfied => ("满意", "Satisfied"),
            Satisfaction::Basic => ("基本满意", "Basically satisfied"),
            Satisfaction::Dissatisfied => ("不满意", "Dissatisfied"),
        };
        self.pick(zh, en)
    }

    /// A category's name from the catalog, or its code when the catalog lacks it.
    pub fn category(self, code: &str) -> String {
        use gridcase_sync_core::{Catalog, CategoryCode};
        CategoryCode::parse(code)
            .and_then(|c| Catalog::standard().get(&c))
            .map(|c| self.pick(c.name, c.name_en).to_owned())
            .unwrap_or_else(|| code.to_owned())
    }

    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// Every fixed string of the console, once per language.
pub struct Text {
    pub app: &'static str,
    pub nav_cases: &'static str,
    pub nav_review: &'static str,
    pub nav_performance: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub wrong_password: &'static str,
    /// `{seconds}` is replaced by the wait.
    pub too_many_sign_ins: &'static str,
    pub other_language: &'static str,
    pub live: &'static str,
    pub filter: &'static str,
    pub clear: &'static str,
    pub any: &'static str,
    pub status: &'static str,
    pub step: &'static str,
    pub street: &'static str,
    pub community: &'static str,
    pub grid: &'static str,
    pub unit: &'static str,
    pub category: &'static str,
    pub level: &'static str,
    pub overdue: &'static str,
    pub conflicted: &'static str,
    pub created_from: &'static str,
    pub created_to: &'static str,
    /// The list's search box: a case number, or text in the description.
    pub search: &'static str,
    pub case: &'static str,
    pub created: &'static str,
    pub deadline: &'static str,
    pub description: &'static str,
    pub next_page: &'static str,
    pub no_cases: &'static str,
    pub address: &'static str,
    pub channel: &'static str,
    pub reported_by: &'static str,
    pub responsible: &'static str,
    pub closed_at: &'static str,
    pub rework: &'static str,
    pub satisfaction: &'static str,
    pub timeline: &'static str,
    pub event: &'static str,
    pub author: &'static str,
    pub device: &'static str,
    pub device_time: &'static str,
    pub received: &'static str,
    pub offline: &'static str,
    pub flagged: &'static str,
    /// The badge of an event written by a later release.
    pub not_understood: &'static str,
    pub photos: &'static str,
    pub conflicts: &'static str,
    pub returned: &'static str,
    pub unit_chain: &'static str,
    pub dispatched_at: &'static str,
    pub deadline_history: &'static str,
    pub missed_deadline: &'static str,
    pub no_conflicts: &'static str,
    pub resolved: &'static str,
    pub resolve: &'static str,
    pub note: &'static str,
    pub reason: &'static str,
    pub against: &'static str,
    pub actions: &'static str,
    pub submit: &'static str,
    pub deadline_hours: &'static str,
    pub extend_hours: &'static str,
    pub solved: &'static str,
    pub not_reached: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub refused: &'static str,
    pub done: &'static str,
    pub review_empty: &'static str,
    pub flagged_events: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub group_by: &'static str,
    pub show: &'static str,
    pub total: &'static str,
    pub filed: &'static str,
    pub due: &'static str,
    pub closed: &'static str,
    pub closed_on_time: &'static str,
    pub closing_rate: &'static str,
    pub on_time_rate: &'static str,
    pub rework_rate: &'static str,
    pub satisfaction_rate: &'static str,
    pub overdue_count: &'static str,
    pub public_satisfaction_rate: &'static str,
    pub called_back_dissatisfied: &'static str,
    pub first_contact_rate: &'static str,
    pub escalated: &'static str,
    pub no_data: &'static str,
    pub updated: &'static str,
    pub suggestion: &'static str,
    pub details: &'static str,
    pub unassigned: &'static str,
    pub uncategorized: &'static str,
    pub decision: &'static str,
    pub keep_outcome: &'static str,
    pub reopen_case: &'static str,
    /// A case's number (`DC-20261130-0042`).
    pub number: &'static str,
    /// A feedback's or verification's verdict.
    pub problem_resolved: &'static str,
    /// The case a duplicate duplicates, by its number or id.
    pub duplicate_of: &'static str,
    /// The file input of the handling, feedback and verification forms.
    pub photos_field: &'static str,
}

pub static ZH: Text = Text {
    app: "网格化案件指挥中心",
    nav_cases: "案件",
    nav_review: "审核队列",
    nav_performance: "绩效考评",
    sign_in: "登录",
    sign_out: "退出",
    username: "用户名",
    password: "密码",
    wrong_password: "用户名或密码错误",
    too_many_sign_ins: "登录失败次数过多，请 {seconds} 秒后再试",
    other_language: "English",
    live: "实时",
    filter: "筛选",
    clear: "清除",
    any: "全部",
    status: "状态",
    step: "环节",
    street: "街道",
    community: "社区",
    grid: "网格",
    unit: "处置单位",
    category: "类别",
    level: "等级",
    overdue: "超期",
    conflicted: "有冲突",
    created_from: "受理起",
    created_to: "受理止",
    search: "案件编号或描述",
    case: "案件",
    created: "受理时间",
    deadline: "处置时限",
    description: "问题描述",
    next_page: "下一页",
    no_cases: "没有符合条件的案件",
    address: "地址",
    channel: "来源",
    reported_by: "上报人",
    responsible: "责任人",
    closed_at: "结案时间",
    rework: "返工次数",
    satisfaction: "满意度",
    timeline: "合并后的处置记录",
    event: "事件",
    author: "操作人",
    device: "设备",
    device_time: "设备时间",
    received: "到达中心",
    offline: "离线",
    flagged: "已标记",
    not_understood: "需更新版本",
    photos: "照片",
    conflicts: "冲突",
    returned: "退回",
    unit_chain: "派遣链",
    dispatched_at: "派遣时间",
    deadline_history: "处置时限变更",
    missed_deadline: "已超期",
    no_conflicts: "没有未裁定的冲突",
    resolved: "已裁定",
    resolve: "裁定",
    note: "说明",
    reason: "原因",
    against: "冲突对象",
    actions: "操作",
    submit: "提交",
    deadline_hours: "时限（工作小时，可选）",
    extend_hours: "延长（工作小时）",
    solved: "问题已解决",
    not_reached: "未接通",
    yes: "是",
    no: "否",
    refused: "操作被拒绝",
    done: "已完成",
    review_empty: "审核队列为空",
    flagged_events: "标记事件",
    from: "起",
    to: "止",
    group_by: "分组",
    show: "查看",
    total: "合计",
    filed: "立案数",
    due: "应结案数",
    closed: "结案数",
    closed_on_time: "按期结案数",
    closing_rate: "结案率",
    on_time_rate: "按期结案率",
    rework_rate: "返工率",
    satisfaction_rate: "满意率",
    overdue_count: "超期数",
    public_satisfaction_rate: "回访满意率",
    called_back_dissatisfied: "回访不满意",
    first_contact_rate: "一次办结率",
    escalated: "督办",
    no_data: "该时段没有数据",
    updated: "已更新",
    suggestion: "处置建议",
    details: "内容",
    unassigned: "未派遣",
    uncategorized: "未分类",
    decision: "裁定结果",
    keep_outcome: "维持当前结果",
    reopen_case: "采纳被覆盖的操作，重新打开案件",
    number: "案件编号",
    problem_resolved: "问题已解决",
    duplicate_of: "重复于（案件编号或案件ID）",
    photos_field: "照片（JPEG、PNG、WebP，可多选）",
};

pub static EN: Text = Text {
    app: "Grid case center",
    nav_cases: "Cases",
    nav_review: "Review queue",
    nav_performance: "Performance",
    sign_in: "Sign in",
    sign_out: "Sign out",
    username: "Username",
    password: "Password",
    wrong_password: "Wrong username or password",
    too_many_sign_ins: "Too many failed sign-ins: try again in {seconds} seconds",
    other_language: "中文",
    live: "live",
    filter: "Filter",
    clear: "Clear",
    any: "Any",
    status: "Status",
    step: "Step",
    street: "Street",
    community: "Community",
    grid: "Grid",
    unit: "Unit",
    category: "Category",
    level: "Level",
    overdue: "Overdue",
    conflicted: "Conflicted",
    created_from: "Created from",
    created_to: "Created to",
    search: "Case number or description",
    case: "Case",
    created: "Created",
    deadline: "Deadline",
    description: "Description",
    next_page: "Next page",
    no_cases: "No cases match",
    address: "Address",
    channel: "Channel",
    reported_by: "Reported by",
    responsible: "Responsible",
    closed_at: "Closed",
    rework: "Rework",
    satisfaction: "Satisfaction",
    timeline: "Merged timeline",
    event: "Event",
    author: "Author",
    device: "Device",
    device_time: "Device time",
    received: "Received",
    offline: "offline",
    flagged: "flagged",
    not_understood: "needs a newer version",
    photos: "Photos",
    conflicts: "Conflicts",
    returned: "Returned",
    unit_chain: "Chain of units",
    dispatched_at: "Dispatched",
    deadline_history: "Deadline history",
    missed_deadline: "Missed",
    no_conflicts: "No open conflicts",
    resolved: "resolved",
    resolve: "Resolve",
    note: "Note",
    reason: "Reason",
    against: "Against",
    actions: "Actions",
    submit: "Submit",
    deadline_hours: "Deadline (working hours, optional)",
    extend_hours: "Working hours to add",
    solved: "Solved",
    not_reached: "Not reached",
    yes: "yes",
    no: "no",
    refused: "Refused",
    done: "Done",
    review_empty: "The review queue is empty",
    flagged_events: "Flagged events",
    from: "From",
    to: "To",
    group_by: "Group by",
    show: "Show",
    total: "Total",
    filed: "Filed",
    due: "Due",
    closed: "Closed",
    closed_on_time: "Closed on time",
    closing_rate: "Closing rate",
    on_time_rate: "On-time rate",
    rework_rate: "Rework rate",
    satisfaction_rate: "Satisfaction",
    overdue_count: "Overdue",
    public_satisfaction_rate: "Callback satisfaction",
    called_back_dissatisfied: "Callbacks dissatisfied",
    first_contact_rate: "First-contact resolution",
    escalated: "Escalated",
    no_data: "No data for this period",
    updated: "updated",
    suggestion: "Suggestion",
    details: "Details",
    unassigned: "Not dispatched",
    uncategorized: "Not filed",
    decision: "Decision",
    keep_outcome: "Keep the current outcome",
    reopen_case: "Side with the superseded event: reopen the case",
    number: "Case number",
    problem_resolved: "Problem resolved",
    duplicate_of: "Duplicate of (case number or id)",
    photos_field: "Photos (JPEG, PNG, WebP; several allowed)",
};

impl Lang {
    /// The words of the new-case page.
    pub fn desk(self) -> &'static DeskText {
        match self {
            Lang::Zh => &DESK_ZH,
            Lang::En => &DESK_EN,
        }
    }

    pub fn business_type(self, b: BusinessType) -> &'static str {
        let (zh, en) = match b {
            BusinessType::Consultation => ("咨询", "Consultation"),
            BusinessType::RequestForHelp => ("求助", "Request for help"),
            BusinessType::Complaint => ("投诉", "Complaint"),
            BusinessType::Report => ("举报", "Report"),
            BusinessType::Suggestion => ("建议", "Suggestion"),
            BusinessType::Praise => ("表扬", "Praise"),
        };
        self.pick(zh, en)
    }
}

/// The words of the hotline desk's new-case page (`new_case.rs`), once per language: kept
/// beside [`Text`] rather than in it, so that the page's many words stay together.
pub struct DeskText {
    /// The header's link and the page's title.
    pub new_case: &'static str,
    pub keys: &'static str,
    pub caller: &'static str,
    pub name: &'static str,
    pub phone: &'static str,
    /// Where the caller lives (optional; not the case's place).
    pub caller_address: &'static str,
    pub anonymous: &'static str,
    pub callback: &'static str,
    pub business_type: &'static str,
    pub choose: &'static str,
    pub place: &'static str,
    pub address_hint: &'static str,
    pub no_address: &'static str,
    pub grid_from_address: &'static str,
    pub longitude: &'static str,
    pub latitude: &'static str,
    pub what: &'static str,
    pub category_hint: &'static str,
    pub lead_unit: &'static str,
    pub lead_hint: &'static str,
    pub cooperating_units: &'static str,
    pub cooperating_hint: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub saved_again: &'static str,
    pub read_to_caller: &'static str,
    pub case_id: &'static str,
    pub case_number: &'static str,
    pub open_case: &'static str,
    pub draft_restored: &'static str,
    pub fix_below: &'static str,
    pub missing: &'static str,
    /// `{max}` is replaced by the limit.
    pub too_long: &'static str,
    pub phone_invalid: &'static str,
    pub phone_no_area_code: &'static str,
    pub phone_needed: &'static str,
    pub anonymous_callback: &'static str,
    pub unknown_business_type: &'static str,
    pub place_needed: &'static str,
    pub address_unknown: &'static str,
    pub address_ambiguous: &'static str,
    pub grid_unknown: &'static str,
    pub coordinates_bad: &'static str,
    pub coordinates_outside: &'static str,
    pub category_unknown: &'static str,
    pub level_unknown: &'static str,
    pub unit_unknown: &'static str,
    pub lead_needed: &'static str,
    pub too_many_units: &'static str,
    pub form_outdated: &'static str,
    /// 直接答复: the choice that answers a consultation on the phone instead of filing it.
    pub answer_directly: &'static str,
    pub answer: &'static str,
    pub answer_hint: &'static str,
    /// The saved notice of a call answered directly.
    pub answered: &'static str,
    pub answer_only_consultation: &'static str,
    pub answer_not_permitted: &'static str,
    pub answer_no_dispatch: &'static str,
    /// The panel of a telephone number's earlier cases (repeat caller).
    pub repeat_caller: &'static str,
    pub repeat_none: &'static str,
    pub repeat_waiting: &'static str,
    /// The panel of open cases the call may repeat.
    pub duplicates: &'static str,
    pub duplicates_rule: &'static str,
    pub duplicates_none: &'static str,
    pub duplicates_waiting: &'static str,
    /// The button that attaches the call to a suggested case instead of opening a new one.
    pub attach: &'static str,
    /// The button that sets a suggestion aside: not the same problem.
    pub not_same: &'static str,
    pub same_address: &'static str,
    /// `{m}` is replaced by whole metres.
    pub metres: &'static str,
    pub opens_in_new_tab: &'static str,
}

pub static DESK_ZH: DeskText = DeskText {
    new_case: "新建案件",
    keys:
        "Tab / Enter 下一项 · 最后一项 Enter 或 Ctrl+Enter 保存 · Esc 清空本项 · 任意页面按 N 新建",
    caller: "来电人",
    name: "姓名",
    phone: "联系电话",
    caller_address: "来电人住址（可选）",
    anonymous: "匿名来电（不记录姓名和电话）",
    callback: "回访",
    business_type: "诉求类型",
    choose: "请选择",
    place: "发生地点",
    address_hint: "输入地址，从地址库中选择",
    no_address: "地址库中没有匹配的地址",
    grid_from_address: "（按所选地址）",
    longitude: "经度",
    latitude: "纬度",
    what: "诉求内容",
    category_hint: "输入类别名称或编码",
    lead_unit: "主办单位",
    lead_hint: "输入单位名称；不填则只立案不派遣",
    cooperating_units: "协办单位",
    cooperating_hint: "可多选（Ctrl 或 Shift 加方向键）",
    save: "保存受理",
    saved: "已受理",
    saved_again: "此表单已保存过，以下是当时受理的案件",
    read_to_caller: "请向来电人告知：",
    case_id: "案件标识",
    case_number: "案件编号",
    open_case: "查看案件",
    draft_restored: "已恢复本标签页未保存的草稿",
    fix_below: "请修改下面标出的内容，已填写的内容均已保留",
    missing: "此项必填",
    too_long: "内容过长，最多 {max} 字",
    phone_invalid:
        "不是有效的电话号码：手机号为 1 开头的 11 位数字，固定电话须带区号（如 010-62345678）",
    phone_no_area_code: "固定电话须带区号，如 010-62345678",
    phone_needed: "请填写来电人电话，或勾选匿名来电",
    anonymous_callback: "匿名来电无法回访",
    unknown_business_type: "没有这种诉求类型",
    place_needed: "请从地址库中选择地址，或选择网格，或填写坐标",
    address_unknown: "地址库中找不到这个地址：请从搜索结果中选择，或选择网格",
    address_ambiguous: "地址库中有多处同名地址：请从搜索结果中选择，或选择网格",
    grid_unknown: "没有这个网格，或不在您的管辖范围内",
    coordinates_bad: "坐标须为经度（-180 至 180）和纬度（-90 至 90）两个数字",
    coordinates_outside: "这个坐标不在您管辖的任何网格内",
    category_unknown: "类别目录中没有这个类别",
    level_unknown: "没有这个问题等级",
    unit_unknown: "没有这个单位",
    lead_needed: "请先指定主办单位",
    too_many_units: "单位过多",
    form_outdated: "此表单已失效，已换用新表单：请核对后再次保存",
    answer_directly: "直接答复：咨询当场答复并办结，不立案派遣",
    answer: "答复内容",
    answer_hint: "向来电人说明的答复，Ctrl+Enter 保存",
    answered: "已直接答复并办结",
    answer_only_consultation: "只有诉求类型为“咨询”的来电可以直接答复；其他诉求请立案派遣",
    answer_not_permitted: "只有区中心和街道分中心的热线可以直接答复",
    answer_no_dispatch: "直接答复的来电不派遣：请清空此项，或取消直接答复",
    repeat_caller: "该号码的历史来电",
    repeat_none: "该号码在您的管辖范围内没有历史来电",
    repeat_waiting: "填写来电电话后，这里显示该号码的历史来电",
    duplicates: "可能重复的在办案件",
    duplicates_rule: "同类别，50 米内或同一地址，近 30 天受理",
    duplicates_none: "没有可能重复的在办案件",
    duplicates_waiting: "选定类别并填写地址（或坐标）后，这里显示可能重复的在办案件",
    attach: "追加为该案来电人",
    not_same: "不是同一问题",
    same_address: "同一地址",
    metres: "相距 {m} 米",
    opens_in_new_tab: "在新标签页打开",
};

pub static DESK_EN: DeskText = DeskText {
    new_case: "New case",
    keys: "Tab / Enter: next field · Enter in the last field or Ctrl+Enter: save · Esc: clear the field · N on any page: new case",
    caller: "Caller",
    name: "Name",
    phone: "Phone",
    caller_address: "Caller's address (optional)",
    anonymous: "Anonymous (no name or phone kept)",
    callback: "Call back",
    business_type: "Business type",
    choose: "Choose",
    place: "Where",
    address_hint: "Type an address and pick it from the register",
    no_address: "No address in the register matches",
    grid_from_address: "(from the address)",
    longitude: "Longitude",
    latitude: "Latitude",
    what: "What",
    category_hint: "Type a category's name or code",
    lead_unit: "Lead unit",
    lead_hint: "A unit's name; none: filed, not dispatched",
    cooperating_units: "Cooperating units",
    cooperating_hint: "Choose any number (Ctrl or Shift with the arrows)",
    save: "Save",
    saved: "Saved",
    saved_again: "This form was saved before: here is the case it opened",
    read_to_caller: "Read to the caller:",
    case_id: "Case id",
    case_number: "Case number",
    open_case: "Open the case",
    draft_restored: "An unsaved draft of this tab was restored",
    fix_below: "Please fix what is marked below; everything typed is kept",
    missing: "Required",
    too_long: "Too long: at most {max} characters",
    phone_invalid: "Not a phone number: a mobile number has 11 digits starting with 1; a landline needs its area code (010-62345678)",
    phone_no_area_code: "Add the area code to the landline, as in 010-62345678",
    phone_needed: "Give the caller's phone, or mark the call anonymous",
    anonymous_callback: "An anonymous caller cannot be called back",
    unknown_business_type: "No such business type",
    place_needed: "Pick an address from the register, choose a grid, or give coordinates",
    address_unknown: "The register does not know this address: pick one from the search, or choose a grid",
    address_ambiguous: "The register has several such addresses: pick one from the search, or choose a grid",
    grid_unknown: "No such grid in your scope",
    coordinates_bad: "Coordinates are two numbers: a longitude (-180 to 180) and a latitude (-90 to 90)",
    coordinates_outside: "No grid of your scope contains these coordinates",
    category_unknown: "The catalog has no such category",
    level_unknown: "No such level",
    unit_unknown: "No such unit",
    lead_needed: "Choose the lead unit first",
    too_many_units: "Too many units",
    form_outdated: "This form was out of date and has been replaced: check it and save again",
    answer_directly: "Answer directly: a consultation answered on the phone and closed, not filed",
    answer: "Answer",
    answer_hint: "What the caller was told; Ctrl+Enter saves",
    answered: "Answered and closed",
    answer_only_consultation: "Only a consultation is answered directly; file any other call",
    answer_not_permitted: "Only the district and street centers' hotline answers directly",
    answer_no_dispatch: "A call answered directly is not dispatched: clear this field, or do not answer directly",
    repeat_caller: "Earlier calls from this number",
    repeat_none: "No earlier calls from this number in your scope",
    repeat_waiting: "Type the caller's phone to see the number's earlier calls here",
    duplicates: "Open cases this call may repeat",
    duplicates_rule: "Same category, within 50 m or at the same address, last 30 days",
    duplicates_none: "No open case this call may repeat",
    duplicates_waiting: "Give a category and an address (or coordinates) to see open cases this call may repeat",
    attach: "Attach this call to that case",
    not_same: "Not the same problem",
    same_address: "same address",
    metres: "{m} m away",
    opens_in_new_tab: "opens in a new tab",
};

impl Lang {
    /// The words of callers and callbacks: the case page's caller panel and callback form, and
    /// the callback worklist.
    pub fn calls(self) -> &'static CallText {
        match self {
            Lang::Zh => &CALLS_ZH,
            Lang::En => &CALLS_EN,
        }
    }

    /// How a caller came to a case.
    pub fn caller_source(self, s: crate::callers::Source) -> &'static str {
        use crate::callers::Source;
        let (zh, en) = match s {
            Source::Intake => ("首次来电", "first call"),
            Source::Added => ("追加来电", "later call"),
            Source::Legacy => ("受理时登记", "recorded at intake"),
        };
        self.pick(zh, en)
    }
}

/// The words of callers and callbacks (回访), once per language.
pub struct CallText {
    /// The header's link to the callback worklist.
    pub nav_callbacks: &'static str,
    pub worklist: &'static str,
    pub worklist_empty: &'static str,
    pub worklist_keys: &'static str,
    pub callers: &'static str,
    pub no_callers: &'static str,
    /// The hint beside a caller shown masked to this viewer.
    pub masked: &'static str,
    pub masked_hint: &'static str,
    pub anonymous: &'static str,
    pub wants_callback: &'static str,
    pub callback_due: &'static str,
    pub due_at: &'static str,
    pub place: &'static str,
    pub call_back: &'static str,
    /// The case page's form that attaches another caller.
    pub add_caller: &'static str,
    pub add_caller_note: &'static str,
    /// The case page's callback form.
    pub callback: &'static str,
    pub callback_caller: &'static str,
    /// The intake's caller of a case from before the caller register.
    pub first_caller: &'static str,
    pub reached: &'static str,
    pub follow_up: &'static str,
    pub follow_none: &'static str,
    pub follow_reopen: &'static str,
    pub follow_supervisor: &'static str,
    pub record_callback: &'static str,
    pub back_to_worklist: &'static str,
    /// The notice on a case a desk call was attached to.
    pub attached: &'static str,
    /// `{phone}` is replaced by the number searched.
    pub phone_cases: &'static str,
    /// The list's search box for the desk: a case number, a phone number or text.
    pub search_desk: &'static str,
    pub exists: &'static str,
    pub answer: &'static str,
}

pub static CALLS_ZH: CallText = CallText {
    nav_callbacks: "回访",
    worklist: "回访工作台",
    worklist_empty: "没有等待回访的案件",
    worklist_keys: "j / k 或 ↑ / ↓ 选择 · Enter 打开回访",
    callers: "来电人",
    no_callers: "没有登记来电人",
    masked: "已脱敏",
    masked_hint: "您的角色只能看到脱敏后的来电人信息",
    anonymous: "匿名",
    wants_callback: "需回访",
    callback_due: "待回访",
    due_at: "回访期限",
    place: "地点",
    call_back: "回访",
    add_caller: "追加来电人",
    add_caller_note: "来电内容",
    callback: "回访",
    callback_caller: "回访对象",
    first_caller: "首次来电人",
    reached: "是否接通",
    follow_up: "后续处理",
    follow_none: "无",
    follow_reopen: "重新办理（重新打开案件）",
    follow_supervisor: "转督办",
    record_callback: "记录回访",
    back_to_worklist: "返回回访工作台",
    attached: "来电已追加为本案来电人，未新建案件",
    phone_cases: "电话 {phone} 的来电案件",
    search_desk: "案件编号、来电电话或描述",
    exists: "问题属实",
    answer: "答复内容",
};

pub static CALLS_EN: CallText = CallText {
    nav_callbacks: "Callbacks",
    worklist: "Callback worklist",
    worklist_empty: "No case waits for a callback",
    worklist_keys: "j / k or ↑ / ↓: move · Enter: open the callback",
    callers: "Callers",
    no_callers: "No callers recorded",
    masked: "masked",
    masked_hint: "Your role sees callers masked",
    anonymous: "anonymous",
    wants_callback: "wants a callback",
    callback_due: "callback due",
    due_at: "Callback due",
    place: "Place",
    call_back: "Call back",
    add_caller: "Attach another caller",
    add_caller_note: "What they said",
    callback: "Callback",
    callback_caller: "Caller",
    first_caller: "The first caller",
    reached: "Reached",
    follow_up: "Follow-up",
    follow_none: "None",
    follow_reopen: "Work it again (reopen the case)",
    follow_supervisor: "Send to the supervisor",
    record_callback: "Record the callback",
    back_to_worklist: "Back to the callback worklist",
    attached: "The call was attached to this case as another caller; no new case was opened",
    phone_cases: "Cases called in from {phone}",
    search_desk: "Case number, caller's phone or description",
    exists: "The problem exists",
    answer: "Answer",
};

impl Lang {
    /// The words of the units' indicators (response 响应, returns 退回) on the performance page.
    pub fn unit_indicators(self) -> &'static UnitIndicatorText {
        match self {
            Lang::Zh => &UNIT_INDICATORS_ZH,
            Lang::En => &UNIT_INDICATORS_EN,
        }
    }
}

/// The words of the units' indicators, once per language: the performance page's columns.
pub struct UnitIndicatorText {
    pub dispatches: &'static str,
    pub returns: &'static str,
    pub return_rate: &'static str,
    pub accurate_dispatch_rate: &'static str,
    pub acknowledged_on_time_rate: &'static str,
    pub mean_response_minutes: &'static str,
}

pub static UNIT_INDICATORS_ZH: UnitIndicatorText = UnitIndicatorText {
    dispatches: "派遣数",
    returns: "退回数",
    return_rate: "退回率",
    accurate_dispatch_rate: "派遣准确率",
    acknowledged_on_time_rate: "按时签收率",
    mean_response_minutes: "平均响应时长（分钟）",
};

pub static UNIT_INDICATORS_EN: UnitIndicatorText = UnitIndicatorText {
    dispatches: "Dispatches",
    returns: "Returns",
    return_rate: "Return rate",
    accurate_dispatch_rate: "Accurate dispatch",
    acknowledged_on_time_rate: "Acknowledged on time",
    mean_response_minutes: "Mean response (min)",
};

impl Lang {
    /// The words of the performance page (绩效考评): its columns with their formulas, the
    /// score, the ranking and the trends.
    pub fn performance(self) -> &'static PerformanceText {
        match self {
            Lang::Zh => &PERFORMANCE_ZH,
            Lang::En => &PERFORMANCE_EN,
        }
    }
}

/// A column of the performance table: its header and its formula (the header's tooltip).
pub struct Column {
    pub label: &'static str,
    pub formula: &'static str,
}

/// The words of the performance page, once per language.
pub struct PerformanceText {
    pub rank: Column,
    pub score: Column,
    pub grade: Column,
    pub filed: Column,
    pub due: Column,
    pub closed: Column,
    pub closed_on_time: Column,
    pub closed_in_period: Column,
    pub closing_rate: Column,
    pub on_time_rate: Column,
    pub response_rate: Column,
    pub public_satisfaction_rate: Column,
    pub public_solved_rate: Column,
    pub satisfaction_rate: Column,
    pub rework_rate: Column,
    pub return_rate: Column,
    pub accurate_dispatch_rate: Column,
    pub overdue: Column,
    pub extended: Column,
    pub first_contact_rate: Column,
    pub called_back_dissatisfied: Column,
    pub dispatches: Column,
    pub returns: Column,
    pub mean_response_minutes: Column,
    /// The grouping by responsible person, and the group of cases without one.
    pub responsible: &'static str,
    pub no_responsible: &'static str,
    /// Under the table: what ▲/▼ compare with, and how the score is made.
    pub compared: &'static str,
    pub weights: &'static str,
    pub trend: &'static str,
    pub trend_group: &'static str,
}

pub static PERFORMANCE_ZH: PerformanceText = PerformanceText {
    rank: Column { label: "排名", formula: "按综合得分从高到低" },
    score: Column { label: "综合得分", formula: "综合得分 = 100 × Σ(权重 × 指标) ÷ Σ权重，只计有数据的指标（缺少的指标其权重按比例分给其余指标）；返工率、退回率按 1 − 比率计" },
    grade: Column { label: "等级", formula: "A：得分 ≥ 90；B：≥ 80；C：≥ 60；D：< 60" },
    filed: Column { label: "立案数", formula: "立案数 = 本时段内立案的案件" },
    due: Column { label: "应结案数", formula: "应结案数 = 现行处置时限落在本时段内的案件（挂账、作废、不予立案的除外）" },
    closed: Column { label: "结案数", formula: "结案数 = 应结案件中，截至统计时刻已结案的" },
    closed_on_time: Column { label: "按期结案数", formula: "按期结案数 = 应结案件中，在时限内结案且此前未超过任何时限的" },
    closed_in_period: Column { label: "期内结案数", formula: "期内结案数（处理量）= 本时段内结案的案件，不论时限" },
    closing_rate: Column { label: "结案率", formula: "结案率 = 结案数 ÷ 应结案数" },
    on_time_rate: Column { label: "按期结案率", formula: "按期结案率 = 按期结案数 ÷ 应结案数" },
    response_rate: Column { label: "响应率", formula: "响应率（即按时签收率）= 本时段派遣中在响应时限内签收的 ÷ 已可判定的派遣（已签收，或超过时限未签收）" },
    public_satisfaction_rate: Column { label: "满意率", formula: "满意率（回访）= 回访满意、基本满意的 ÷ 有满意度回答的回访（本时段内结案的案件）" },
    public_solved_rate: Column { label: "解决率", formula: "解决率（回访）= 回访称已解决的 ÷ 回答了是否解决的回访（本时段内结案的案件）" },
    satisfaction_rate: Column { label: "内部评价满意率", formula: "内部评价满意率 = 中心评价满意、基本满意的 ÷ 中心评价过的（本时段内结案的案件），与回访评价分开" },
    rework_rate: Column { label: "返工率", formula: "返工率 = 核查不通过次数 ÷ 核查次数（应结案件，不论其后是否结案）" },
    return_rate: Column { label: "退回率", formula: "退回率 = 退回数 ÷ 派遣数" },
    accurate_dispatch_rate: Column { label: "派遣准确率", formula: "派遣准确率（准确派遣率）= (派遣数 − 退回数) ÷ 派遣数：未被退回的派遣" },
    overdue: Column { label: "超期数", formula: "超期数 = 应结案件中现已超期或超期结案的，或更早的时限在办理中已过的" },
    extended: Column { label: "延期数", formula: "延期数 = 应结案件获准延期的次数" },
    first_contact_rate: Column { label: "直接答复率", formula: "直接答复率（一次办结）= 受理时直接答复的咨询 ÷ 本时段受理的案件" },
    called_back_dissatisfied: Column { label: "回访不满意", formula: "本时段内结案、任一轮回访不满意或未解决的案件" },
    dispatches: Column { label: "派遣数", formula: "派遣数 = 本时段内的派遣，计入被派遣的单位" },
    returns: Column { label: "退回数", formula: "退回数 = 其中被单位退回的" },
    mean_response_minutes: Column { label: "平均响应时长（分钟）", formula: "平均响应时长 = 从派遣到签收的分钟数，对已签收的派遣取平均" },
    responsible: "责任人",
    no_responsible: "未指定责任人",
    compared: "▲/▼：与上一等长时段（{from} 至 {to}）相比的变化（百分点或分）；— 表示没有数据",
    weights: "得分权重",
    trend: "近 12 周趋势",
    trend_group: "趋势对象",
};

pub static PERFORMANCE_EN: PerformanceText = PerformanceText {
    rank: Column { label: "Rank", formula: "By score, highest first" },
    score: Column { label: "Score", formula: "score = 100 × Σ(weight × rate) ÷ Σ weight over the rates with data (a missing rate's weight goes to the others in proportion); rework and return count as 1 − rate" },
    grade: Column { label: "Grade", formula: "A: score ≥ 90; B: ≥ 80; C: ≥ 60; D: below 60" },
    filed: Column { label: "Filed", formula: "filed = cases filed in the period" },
    due: Column { label: "Due", formula: "due = cases whose deadline in force falls in the period, neither held, voided nor declined" },
    closed: Column { label: "Closed", formula: "closed = of the due cases, those closed as of now" },
    closed_on_time: Column { label: "Closed on time", formula: "closed on time = of the due cases, those closed by their deadline with no earlier deadline missed" },
    closed_in_period: Column { label: "Closed in period", formula: "closed in period (throughput) = cases closed within the period, whatever their deadline" },
    closing_rate: Column { label: "Closing rate", formula: "closing rate = closed ÷ due" },
    on_time_rate: Column { label: "On-time rate", formula: "on-time rate = closed on time ÷ due" },
    response_rate: Column { label: "Response rate", formula: "response rate (acknowledged on time) = dispatches of the period acknowledged within their response limit ÷ dispatches judged (acknowledged, or unacknowledged past the limit)" },
    public_satisfaction_rate: Column { label: "Satisfaction", formula: "satisfaction (callbacks) = callbacks satisfied or basically satisfied ÷ callbacks with a satisfaction answer (cases closed in the period)" },
    public_solved_rate: Column { label: "Resolution", formula: "resolution (callbacks) = callbacks that found the problem solved ÷ callbacks that answered (cases closed in the period)" },
    satisfaction_rate: Column { label: "Internal evaluation", formula: "internal evaluation = the center's evaluations satisfied or basically satisfied ÷ evaluations (cases closed in the period), apart from the callbacks" },
    rework_rate: Column { label: "Rework rate", formula: "rework rate = failed verifications ÷ verifications of the due cases, whether or not they closed since" },
    return_rate: Column { label: "Return rate", formula: "return rate = returns ÷ dispatches" },
    accurate_dispatch_rate: Column { label: "Accurate dispatch", formula: "accurate dispatch = (dispatches − returns) ÷ dispatches" },
    overdue: Column { label: "Overdue", formula: "overdue = of the due cases, those overdue now or closed late, or whose earlier deadline passed while open" },
    extended: Column { label: "Extensions", formula: "extensions = extensions granted to the due cases" },
    first_contact_rate: Column { label: "Answered at intake", formula: "answered at intake (first contact) = consultations answered at intake ÷ cases received in the period" },
    called_back_dissatisfied: Column { label: "Callbacks dissatisfied", formula: "cases closed in the period with a dissatisfied or unsolved callback in any round" },
    dispatches: Column { label: "Dispatches", formula: "dispatches = dispatches made in the period, for the unit dispatched to" },
    returns: Column { label: "Returns", formula: "returns = of those, the ones sent back" },
    mean_response_minutes: Column { label: "Mean response (min)", formula: "mean response = minutes from dispatch to acknowledgement, averaged over the acknowledged dispatches" },
    responsible: "Responsible person",
    no_responsible: "No responsible person",
    compared: "▲/▼: the change against the previous period of equal length ({from} to {to}), in points; — means no data",
    weights: "Score weights",
    trend: "The last 12 weeks",
    trend_group: "Trend of",
};
