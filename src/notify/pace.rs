//! Pacing a digest's chat messages to a robot's published rate limit.
//!
//! WeCom and DingTalk accept 20 messages a minute per robot (DingTalk then blocks the robot for
//! ten minutes); Feishu 100 a minute and 5 a second. A long digest goes out in many messages,
//! so each message waits until sending it keeps every window within its limit.
//!
//! Written by hand rather than with a rate-limiter crate: the messages already posted come
//! from the stored digest record as wall-clock times (a retry or a restart must count the
//! messages an earlier process posted), and the rule is a sliding window over a handful of
//! timestamps, which is a few lines.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// At most `messages` messages in any span of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub messages: usize,
    pub per: Duration,
}

impl Pace {
    pub const fn per_minute(messages: usize) -> Pace {
        Pace {
            messages,
            per: Duration::from_secs(60),
        }
    }
}

/// How long to wait, from `now`, before the next message, given the times of the messages
/// already posted (in any order), so that no span of any `paces` holds more than its limit.
pub fn wait(paces: &[Pace], sent: &[DateTime<Utc>], now: DateTime<Utc>) -> Duration {
    let mut sorted = sent.to_vec();
    sorted.sort_unstable();
    let mut longest = Duration::ZERO;
    for pace in paces {
        let Ok(per) = chrono::Duration::from_std(pace.per) else {
            continue;
        };
        let in_window: Vec<&DateTime<Utc>> = sorted.iter().filter(|t| **t > now - per).collect();
        if pace.messages == 0 || in_window.len() < pace.messages {
            continue;
        }
        // The next message may go once the oldest message that would make the window too
        // full has left it.
        let leaving = in_window[in_window.len() - pace.messages];
        let until = (*leaving + per - now).to_std().unwrap_or(Duration::ZERO);
        longest = longest.max(until);
    }
    longest
}

/// Drops times older than the longest window of `paces`: they no longer count.
pub fn prune(paces: &[Pace], sent: &mut Vec<DateTime<Utc>>, now: DateTime<Utc>) {
    let longest = paces.iter().map(|p| p.per).max().unwrap_or(Duration::ZERO);
    let Ok(longest) = chrono::Duration::from_std(longest) else {
        return;
    };
    sent.retain(|t| *t > now - longest);
    sent.sort_unstable();
    sent.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn waits_until_the_oldest_message_leaves_the_window() {
        let twenty = [Pace::per_minute(20)];
        let sent: Vec<_> = (0..20).map(at).collect();
        // 20 messages at 0..19 s: the 21st may go at 60 s, when the first has left.
        assert_eq!(wait(&twenty, &sent, at(19)), Duration::from_secs(41));
        assert_eq!(wait(&twenty, &sent, at(60)), Duration::ZERO);
        assert_eq!(wait(&twenty, &sent[..19], at(19)), Duration::ZERO);
    }

    #[test]
    fn the_strictest_of_several_limits_wins() {
        let feishu = [
            Pace::per_minute(100),
            Pace {
                messages: 5,
                per: Duration::from_secs(1),
            },
        ];
        let burst: Vec<_> = (0..5).map(|_| at(10)).collect();
        assert_eq!(wait(&feishu, &burst, at(10)), Duration::from_secs(1));
        let minute: Vec<_> = (0..100).map(|i| at(i / 2)).collect();
        assert_eq!(wait(&feishu, &minute, at(50)), Duration::from_secs(10));
    }

    #[test]
    fn prune_keeps_only_what_still_counts() {
        let mut sent = vec![at(0), at(70), at(70), at(100)];
        prune(&[Pace::per_minute(20)], &mut sent, at(120));
        assert_eq!(sent, vec![at(70), at(100)]);
    }
}
