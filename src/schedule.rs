//! Schedule: when things run. A checked cron expression, in the form the scheduler runs; the
//! daemon (`daemon.rs`) runs each source's crawl and each digest on theirs.

use chrono_tz::Tz;
use std::fmt;

/// A checked cron schedule, kept in the six-field form (seconds first) the scheduler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(String);

impl Schedule {
    /// Accepts classic five-field cron (`*/30 * * * *`) or six fields with seconds first.
    ///
    /// Unlike classic cron, when both day-of-month and day-of-week are restricted, both must match
    /// (the scheduler's rule); this is documented in the README.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let fields = expr.split_whitespace().count();
        let six = match fields {
            5 => format!("0 {}", expr.trim()),
            6 => expr.split_whitespace().collect::<Vec<_>>().join(" "),
            n => {
                return Err(format!(
                    "cron expression {expr:?} has {n} fields; want 5, or 6 with seconds first"
                ));
            }
        };
        Self::cron(&six).map_err(|e| format!("invalid cron expression {expr:?}: {e}"))?;
        Ok(Schedule(six))
    }

    fn cron(six: &str) -> Result<croner::Cron, croner::errors::CronError> {
        croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(six)
    }

    /// The six-field expression.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The next time this schedule fires after `after`.
    pub fn next_after(&self, after: chrono::DateTime<Tz>) -> Option<chrono::DateTime<Tz>> {
        Self::cron(&self.0)
            .ok()?
            .find_next_occurrence(&after, false)
            .ok()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn five_fields_run_at_second_zero_and_both_day_fields_must_match() {
        let s = Schedule::parse("*/30 * * * *").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.as_str(), "0 */30 * * * *");
        let tz = chrono_tz::Asia::Shanghai;
        let after = tz.with_ymd_and_hms(2025, 7, 2, 8, 10, 0).single();
        let next = after.and_then(|a| s.next_after(a));
        assert_eq!(next, tz.with_ymd_and_hms(2025, 7, 2, 8, 30, 0).single());
        // The 13th that is a Friday, not every 13th and every Friday.
        let friday13 = Schedule::parse("0 9 13 * 5").unwrap_or_else(|e| panic!("{e}"));
        let next = after.and_then(|a| friday13.next_after(a));
        assert_eq!(next, tz.with_ymd_and_hms(2026, 2, 13, 9, 0, 0).single());
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("* * *").is_err_and(|e| e.contains("3 fields")));
    }
}
