//! The names of the chat catalogue's entries. A typo in code is a compile error, an entry nobody uses is a
//! dead-code warning (CI denies warnings), and the catalogue test checks every name against both files.
//! To add a text: one line here, one entry in `i18n/chat.en.json` and in `i18n/chat.zh-CN.json`.

macro_rules! chat_keys {
    ($($variant:ident => $key:literal,)+) => {
        /// One text the bridge writes into a chat.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ChatKey {
            $($variant,)+
        }

        impl ChatKey {
            /// Every key, for the catalogue test.
            #[cfg(test)]
            pub(crate) const ALL: &'static [ChatKey] = &[$(ChatKey::$variant,)+];

            /// The entry's name in the JSON catalogues.
            pub fn name(self) -> &'static str {
                match self {
                    $(ChatKey::$variant => $key,)+
                }
            }
        }
    };
}

chat_keys! {
    Help => "command.help",
    UnknownCommand => "command.unknown",
    NewDone => "command.new.done",
    NewFailed => "command.new.failed",
    StopDone => "command.stop.done",
    StopNothing => "command.stop.nothing",
    StopFailed => "command.stop.failed",
    PermissionAllowed => "command.permission.allowed",
    PermissionDenied => "command.permission.denied",
    PermissionStillOpenOne => "command.permission.still_open_one",
    PermissionStillOpenMany => "command.permission.still_open_many",
    PermissionNoSuch => "command.permission.no_such",
    PermissionNonePending => "command.permission.none_pending",
    AnswerFailed => "command.answer.failed",
    AnswerUsage => "command.answer.usage",
    AnswerPassed => "command.answer.passed",
    QuestionDismissed => "command.answer.dismissed",
    QuestionNone => "command.answer.none",
    RetryStarted => "command.retry.started",
    RetryNothing => "command.retry.nothing",
    RetryFailed => "command.retry.failed",
    LangCurrent => "command.lang.current",
    LangSet => "command.lang.set",
    LangUnknown => "command.lang.unknown",
    LangFailed => "command.lang.failed",
    Status => "command.status.body",
    StatusAgentUp => "command.status.agent_up",
    StatusAgentUpVersion => "command.status.agent_up_version",
    StatusAgentProblem => "command.status.agent_problem",
    StatusAgentUnreachable => "command.status.agent_unreachable",
    StatusConnected => "command.status.connected",
    StatusConnecting => "command.status.connecting",
    StatusBackoff => "command.status.backoff",
    StatusStopped => "command.status.stopped",
    StatusYes => "command.status.yes",
    StatusNo => "command.status.no",
    RefusalNotConfigured => "access.not_configured",
    RefusalSender => "access.sender_not_allowed",
    RefusalGroup => "access.group_not_enabled",
    ExternalUser => "access.external_user",
    AgentUnreachable => "agent.unreachable",
    AgentFailed => "agent.failed",
    InternalError => "agent.internal_error",
    Interrupted => "agent.interrupted",
    CardStopped => "agent.card_stopped",
    CardInterrupted => "agent.card_interrupted",
    CardContinued => "agent.card_continued",
    PermissionAsk => "agent.permission_ask",
    QuestionAsk => "agent.question_ask",
    EmptyReply => "agent.empty_reply",
    AttachmentLabelPicture => "attachment.label.picture",
    AttachmentLabelVoice => "attachment.label.voice",
    AttachmentLabelVideo => "attachment.label.video",
    AttachmentLabelFile => "attachment.label.file",
    AttachmentTooLarge => "attachment.too_large",
    AttachmentTooLargeUnknownSize => "attachment.too_large_unknown_size",
    AttachmentFailed => "attachment.failed",
    AttachmentNoCredentials => "attachment.no_credentials",
    AttachmentUnsupported => "attachment.unsupported",
    AttachmentUnsupportedSaid => "attachment.unsupported_said",
    AttachmentReasonRefused => "attachment.reason.refused",
    AttachmentReasonPermission => "attachment.reason.permission",
    AttachmentReasonQuota => "attachment.reason.quota",
    AttachmentReasonThrottled => "attachment.reason.throttled",
    AttachmentReasonNoAnswer => "attachment.reason.no_answer",
    AttachmentReasonNoCode => "attachment.reason.no_code",
    AttachmentReasonFetch => "attachment.reason.fetch",
    AttachmentReasonIo => "attachment.reason.io",
    AttachmentReasonTooLarge => "attachment.reason.too_large",
    ProjectExternal => "project.external",
    ProjectNone => "project.none",
    ProjectList => "project.list",
    ProjectCurrent => "project.current",
    ProjectSwitched => "project.switched",
    ProjectUnknown => "project.unknown",
    ProjectFailed => "project.failed",
}
