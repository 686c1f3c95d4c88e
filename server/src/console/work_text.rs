//! The console's strings for every role's work (issue 14): queues, acknowledgement, extension
//! requests, arbitration and the lead unit, tiered dispatch, conflicts' two sides. Once per
//! language, like `i18n`.

use super::i18n::Lang;

pub struct WorkText {
    pub lead_unit: &'static str,
    pub queue: &'static str,
    pub queue_keys: &'static str,
    pub nothing_waits: &'static str,
    pub partial: &'static str,
    /// `{n}` is replaced by how many are listed.
    pub first_of: &'static str,
    pub response_late: &'static str,
    /// `{hours}` is replaced by the hours asked.
    pub extension_asked: &'static str,
    pub cooperating_units: &'static str,
    pub acknowledged: &'static str,
    pub not_acknowledged: &'static str,
    pub respond_by: &'static str,
    pub extension_request: &'static str,
    pub callback_wanted: &'static str,
    /// `{status}` is replaced by the status the case would have.
    pub leaves: &'static str,
    pub adopt: &'static str,
    pub cannot_adopt: &'static str,
    pub responsible: &'static str,
    pub name_lead: &'static str,
    pub acknowledged_col: &'static str,
    pub grant: &'static str,
    pub refuse: &'static str,
    pub hours_asked: &'static str,
    /// Section headings, in the order of `Section` (see `queue::section`).
    pub sections: [&'static str; 15],
}

pub static WORK_ZH: WorkText = WorkText {
    lead_unit: "主办单位",
    queue: "工作台",
    queue_keys: "j / k 或 ↑ / ↓ 选择 · Enter 打开案件",
    nothing_waits: "没有等待您处理的案件",
    partial: "范围内在办案件过多, 计数不完整",
    first_of: "仅列出最紧迫的 {n} 件",
    response_late: "超时未签收",
    extension_asked: "申请延期 {hours} 小时",
    cooperating_units: "协办单位",
    acknowledged: "签收",
    not_acknowledged: "未签收",
    respond_by: "应签收时间",
    extension_request: "待审批的延期申请",
    callback_wanted: "需要回访",
    leaves: "案件将为「{status}」",
    adopt: "采纳被覆盖的一方",
    cannot_adopt: "被覆盖的事件在其位置违反规则, 只能保留现状",
    responsible: "责任人",
    name_lead: "指定为主办单位 (不得退回)",
    acknowledged_col: "签收",
    grant: "批准延期",
    refuse: "驳回延期申请",
    hours_asked: "申请的工作小时",
    sections: [
        "待核实",
        "待立案",
        "待派遣",
        "被退回",
        "待仲裁",
        "延期申请",
        "超时未签收",
        "待签收",
        "处置中",
        "即将到期",
        "已超期",
        "待核查",
        "待结案",
        "本级派遣",
        "督办",
    ],
};

pub static WORK_EN: WorkText = WorkText {
    lead_unit: "lead unit",
    queue: "Work queue",
    queue_keys: "j / k or ↑ / ↓ to choose · Enter opens the case",
    nothing_waits: "Nothing waits for you",
    partial: "Too many open cases in your scope: counts are partial",
    first_of: "The {n} most pressing are listed",
    response_late: "Not acknowledged in time",
    extension_asked: "{hours} h extension asked",
    cooperating_units: "Cooperating units",
    acknowledged: "Acknowledged",
    not_acknowledged: "Not acknowledged",
    respond_by: "due by",
    extension_request: "Extension request waiting",
    callback_wanted: "Callback wanted",
    leaves: "the case will be “{status}”",
    adopt: "Take the superseded event's side",
    cannot_adopt: "The superseded event broke a rule where it stands: it can only be kept out",
    responsible: "Responsible person",
    name_lead: "Name the lead unit (it cannot return the case)",
    acknowledged_col: "Acknowledged",
    grant: "Grant the extension",
    refuse: "Refuse the extension request",
    hours_asked: "Working hours asked",
    sections: [
        "To confirm",
        "To file",
        "To dispatch",
        "Returned",
        "Arbitration",
        "Extension requests",
        "Not acknowledged in time",
        "To acknowledge",
        "In progress",
        "Due soon",
        "Overdue",
        "To verify",
        "To close",
        "Dispatched by us",
        "Escalated",
    ],
};

impl Lang {
    pub fn work(self) -> &'static WorkText {
        match self {
            Lang::Zh => &WORK_ZH,
            Lang::En => &WORK_EN,
        }
    }
}
