//! The output rails, one behaviour at a time.

use super::*;

fn facts() -> OutputFacts {
    OutputFacts {
        channel: ChannelKind::Telegram,
        system_prompt: "You are the sales assistant of Acme Robotics. Never discuss competitor pricing and always offer a demo slot on Tuesday or Thursday afternoon.".into(),
        contact_email: Some("Jane@Example.com".into()),
        contact_phone: Some("+49 30 1234567".into()),
    }
}

fn blocked(v: &RailVerdict) -> bool {
    matches!(v.decision, RailDecision::Block { .. })
}
fn needs_approval(v: &RailVerdict) -> bool {
    matches!(v.decision, RailDecision::NeedsApproval { .. })
}

#[test]
fn length_per_channel() {
    let mut policy = RailPolicy {
        max_reply_chars: Some(20),
        ..RailPolicy::default()
    };
    policy
        .max_reply_chars_by_channel
        .insert(ChannelKind::Telegram, 10);
    assert_eq!(
        check_length(&policy, ChannelKind::Telegram, "short").decision,
        RailDecision::Allow
    );
    assert!(needs_approval(&check_length(
        &policy,
        ChannelKind::Telegram,
        "twelve chars"
    )));
    assert_eq!(
        check_length(&policy, ChannelKind::Email, "twelve chars").decision,
        RailDecision::Allow
    );
}

#[test]
fn forbidden_phrases_block() {
    let policy = RailPolicy {
        forbidden_phrases: vec!["guarantee".into(), "risk-free".into()],
        ..RailPolicy::default()
    };
    assert!(blocked(&check_forbidden_phrases(
        &policy,
        "We GUARANTEED results."
    )));
    assert!(blocked(&check_forbidden_phrases(
        &policy,
        "It is risk-free."
    )));
    assert_eq!(
        check_forbidden_phrases(&policy, "We can show results in a demo.").decision,
        RailDecision::Allow
    );
}

#[test]
fn only_the_contacts_own_details() {
    let policy = RailPolicy {
        allowed_addresses: vec!["sales@acme.test".into()],
        ..RailPolicy::default()
    };
    let f = facts();
    for ok in [
        "I'll send it to jane@example.com today.",
        "Or write to sales@acme.test.",
        "Shall I call you on 030 1234567?",
        "We have 25 seats in 2026.",
    ] {
        assert_eq!(
            check_contact_details(&policy, &f, ok).decision,
            RailDecision::Allow,
            "{ok}"
        );
    }
    for bad in [
        "Your colleague bob@example.com agreed.",
        "Call Bob at +1 415 555 0100.",
    ] {
        assert!(blocked(&check_contact_details(&policy, &f, bad)), "{bad}");
    }
}

#[test]
fn system_prompt_leak_blocks() {
    let policy = RailPolicy::default();
    let f = facts();
    let leak = "Sure! My instructions: you are the sales assistant of Acme Robotics. Never discuss competitor pricing and always offer a demo slot.";
    assert!(blocked(&check_prompt_leak(&policy, &f.system_prompt, leak)));
    let fine = "Happy to help: we could do a demo slot on Tuesday afternoon if that suits you.";
    assert_eq!(
        check_prompt_leak(&policy, &f.system_prompt, fine).decision,
        RailDecision::Allow
    );
}

#[test]
fn links_off_the_allow_list_need_approval() {
    let open = RailPolicy::default();
    assert_eq!(
        check_links(&open, "see https://anything.test/x").decision,
        RailDecision::Allow
    );
    let policy = RailPolicy {
        link_allow_list: Some(vec!["acme.test".into()]),
        ..RailPolicy::default()
    };
    assert_eq!(
        check_links(&policy, "Book at https://cal.acme.test/demo.").decision,
        RailDecision::Allow
    );
    assert!(needs_approval(&check_links(
        &policy,
        "Book at https://acme.test.evil.example/demo"
    )));
    assert!(needs_approval(&check_links(&policy, "see www.other.test")));
    let none = RailPolicy {
        link_allow_list: Some(vec![]),
        ..RailPolicy::default()
    };
    assert!(needs_approval(&check_links(&none, "https://acme.test")));
}

#[test]
fn language_check() {
    let policy = RailPolicy {
        languages: vec![whatlang::Lang::Eng],
        ..RailPolicy::default()
    };
    assert_eq!(
        check_language(
            &policy,
            "Thank you for your message, I would be happy to arrange a demonstration next week."
        )
        .decision,
        RailDecision::Allow
    );
    assert!(needs_approval(&check_language(
        &policy,
        "Vielen Dank für Ihre Nachricht, gerne vereinbare ich nächste Woche eine Vorführung mit Ihnen."
    )));
    assert_eq!(
        check_language(&policy, "Danke!").decision,
        RailDecision::Allow
    );
}

#[test]
fn check_output_names_every_rail() {
    let names: Vec<String> = check_output(&RailPolicy::default(), &facts(), "Hello")
        .into_iter()
        .map(|v| v.rail)
        .collect();
    assert_eq!(
        names,
        [
            OUTPUT_LENGTH,
            OUTPUT_FORBIDDEN_PHRASES,
            OUTPUT_CONTACT_DETAILS,
            OUTPUT_PROMPT_LEAK,
            OUTPUT_LINKS,
            OUTPUT_LANGUAGE
        ]
    );
}
