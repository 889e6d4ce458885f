//! The fairness rules changed while the server runs (DESIGN §9), over real
//! TCP against a server in this process: a TA's `SetRules` re-orders the
//! queue and changes who may join, every student is told in plain words
//! through the announcement they already see, the staff activity records
//! who changed what — and a student cannot change them.

use jqueue_shared::staff::{ActivityKind, FairnessRules, StaffOutcome, StaffRequest};
use jqueue_shared::{RequestResult, ServerMsg};
use jqueue_tests::{Student, TestServer, make_staff, test_config};

type Result = anyhow::Result<()>;

/// The next announcement `student` is sent.
async fn announcement(student: &mut Student) -> anyhow::Result<String> {
    match student
        .recv_until(|m| matches!(m, ServerMsg::Announcement { .. }))
        .await?
    {
        ServerMsg::Announcement { text } => Ok(text),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_ta_changes_the_rules_and_the_queue_and_every_student_follow() -> Result {
    let dir = tempfile::tempdir()?;
    make_staff(dir.path(), "ta")?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut ta = Student::register(server.addr, "ta").await?;
    let mut amy = Student::register(server.addr, "amy").await?;
    let mut ben = Student::register(server.addr, "ben").await?;

    // amy is helped once; with no rules she may ask again at once, and
    // ben, who asks after her, stands behind her.
    amy.ask_for_help("first question").await?;
    ta.staff(StaffRequest::Serve { student: None }).await?;
    assert!(matches!(
        ta.staff(StaffRequest::Finish).await?,
        StaffOutcome::Finished(_)
    ));
    assert_eq!(
        amy.ask_for_help("second question").await?,
        RequestResult::Joined { position: 1 }
    );
    assert_eq!(
        ben.ask_for_help("first question").await?,
        RequestResult::Joined { position: 2 }
    );

    let rules = FairnessRules {
        first_timers_first: true,
        cooldown_mins: 10,
        ..FairnessRules::default()
    };
    assert_eq!(
        ta.staff(StaffRequest::SetRules(rules)).await?,
        StaffOutcome::RulesChanged(rules)
    );
    let told = "Office hours now serve first-timers first: students not yet helped today go \
                ahead. After a help you can ask again after 10 min.";
    assert_eq!(announcement(&mut amy).await?, told);
    assert_eq!(announcement(&mut ben).await?, told);

    // The first-timer goes ahead, and the queue says why.
    assert_eq!(server.waiting().await, ["ben", "amy"]);
    let view = ben.expect_position(Some(1), 2).await?;
    assert_eq!(view.you.unwrap().place, jqueue_shared::Place::FirstTime);
    // amy, helped minutes ago, may not ask again yet.
    assert_eq!(amy.cancel().await?, RequestResult::Cancelled);
    assert!(
        matches!(
            amy.ask_for_help("third question").await?,
            RequestResult::Cooldown { .. }
        ),
        "the new cooldown refuses amy"
    );
    let view = server.view().await;
    assert_eq!(view.rules, rules);
    assert!(
        view.activity.iter().any(|line| line.kind
            == ActivityKind::RulesChanged {
                staff: "ta".into(),
                rules
            }),
        "{:?}",
        view.activity
    );

    // Off again: amy may ask at once, and is told so.
    let off = FairnessRules {
        cooldown_mins: 0,
        ..rules
    };
    ta.staff(StaffRequest::SetRules(off)).await?;
    assert_eq!(
        announcement(&mut amy).await?,
        "After a help you can ask again at once."
    );
    assert_eq!(
        amy.ask_for_help("third question").await?,
        RequestResult::Joined { position: 2 }
    );
    server.stop().await
}

#[tokio::test]
async fn a_student_cannot_change_the_rules() -> Result {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start(test_config(dir.path(), "s")).await?;
    let mut eve = Student::register(server.addr, "eve").await?;
    let rules = FairnessRules {
        first_timers_first: true,
        ..FairnessRules::default()
    };
    assert_eq!(
        eve.staff(StaffRequest::SetRules(rules)).await?,
        StaffOutcome::NotStaff {
            username: "eve".into()
        }
    );
    let view = server.view().await;
    assert_eq!(view.rules, FairnessRules::default(), "nothing changed");
    assert!(
        !view
            .activity
            .iter()
            .any(|line| matches!(line.kind, ActivityKind::RulesChanged { .. })),
        "{:?}",
        view.activity
    );
    server.stop().await
}
