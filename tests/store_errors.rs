//! Issue 10, defect 2: a store error while queueing the agent's answer is retried, not swallowed: the answer
//! reaches the chat once the database accepts it again, and the agent turn is not run a second time.

mod support;

use std::time::Duration;

use dingtalk_sim::{InjectMessage, one_to_one_conversation_id};
use support::*;

const LONG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_reply_the_store_refused_is_queued_again_once_the_store_accepts_it() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    let conversation = one_to_one_conversation_id("storeuser");
    // Another connection on the real database file makes every outbox insert of this chat fail.
    let other = rusqlite::Connection::open(dir.path().join("dingbridge.db")).unwrap();
    other.busy_timeout(Duration::from_secs(5)).unwrap();
    other
        .execute_batch(&format!(
            "CREATE TRIGGER refuse_replies BEFORE INSERT ON outbox WHEN NEW.conversation_id = '{conversation}'
             BEGIN SELECT RAISE(ABORT, 'disk trouble (test)'); END;"
        ))
        .unwrap();
    sim.inject(InjectMessage::text_1to1("storeuser", "Store User", "hello"));
    assert!(eventually(LONG, || agent.count() == 1).await);
    // Let the writer refuse the reply a few times, then heal the database.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sim.received(&conversation).is_empty());
    other.execute_batch("DROP TRIGGER refuse_replies").unwrap();
    assert!(
        sim.wait_until(LONG, |_| !sim.received(&conversation).is_empty())
            .await,
        "the reply was dropped after the store error"
    );
    let texts: Vec<String> = sim
        .received(&conversation)
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, vec!["re: hello".to_owned()]);
    assert_eq!(agent.count(), 1, "the agent turn ran again");
    engine.shutdown().await;
}
