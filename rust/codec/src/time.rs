//! Time zones and the hand-written timestamp formats of the profiles.
//!
//! Named zones come from the system's IANA database (`/usr/share/zoneinfo`, as
//! Python's `zoneinfo` reads it) with a bundled copy as fallback, through `jiff`,
//! which also follows each zone's POSIX rule past the last listed transition
//! (daylight saving time in 2100).

/// The earliest and latest seconds a `google.protobuf.Timestamp` may hold
/// (0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z).
pub(crate) const MIN_SECONDS: i64 = -62_135_596_800;
pub(crate) const MAX_SECONDS: i64 = 253_402_300_799;

/// A timestamp: seconds since the Unix epoch and nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ts {
    pub seconds: i64,
    pub nanos: i32,
}

impl Ts {
    /// Whether the timestamp is in the range the protobuf type defines.
    pub(crate) fn is_valid(self) -> bool {
        (MIN_SECONDS..=MAX_SECONDS).contains(&self.seconds)
            && (0..1_000_000_000).contains(&self.nanos)
    }
}

/// The `timezone` value that names the host's own zone.
pub(crate) const LOCAL: &str = "local";

/// The `timezone` render option, resolved once.
#[derive(Debug, Clone)]
pub(crate) enum Zone {
    /// A fixed offset in seconds east of UTC (`UTC` is `Fixed(0)`).
    Fixed(i32),
    /// An IANA zone.
    Named(jiff::tz::TimeZone),
}

impl Zone {
    /// Parses `UTC`, `local`, a fixed offset (`+08:00`, `-0530`; at most 23:59) or an
    /// IANA name.
    pub(crate) fn parse(name: &str) -> Result<Zone, String> {
        if name == "UTC" {
            return Ok(Zone::Fixed(0));
        }
        if name == LOCAL {
            return Ok(Zone::local());
        }
        if let Some(offset) = parse_fixed(name) {
            return Ok(Zone::Fixed(offset));
        }
        let invalid = || {
            format!(
                "invalid timezone {name:?}: expected an IANA zone name (Asia/Shanghai), UTC, \
                 local, or a fixed offset (+08:00, -0530)"
            )
        };
        // Files of the zoneinfo directory that are not zone names.
        if matches!(name, "localtime" | "Factory" | "posixrules")
            || name.starts_with("posix/")
            || name.starts_with("right/")
        {
            return Err(invalid());
        }
        // The database lookup ignores case; zone names, like Python's on Linux, do not.
        match jiff::tz::TimeZone::get(name) {
            Ok(tz) if tz.iana_name() == Some(name) => Ok(Zone::Named(tz)),
            _ => Err(invalid()),
        }
    }

    /// The zone of the host, as its C library sees it: `TZ` (an IANA name, with or
    /// without a leading `:`, or a POSIX rule such as `CST-8`), else `/etc/localtime`;
    /// UTC when neither names a zone. Read once, when a renderer is made.
    fn local() -> Zone {
        match jiff::tz::TimeZone::try_system() {
            Ok(tz) => Zone::Named(tz),
            Err(_) => Zone::Fixed(0),
        }
    }

    /// The offset from UTC, in seconds, at the instant `seconds` (valid range).
    #[inline]
    pub(crate) fn offset_at(&self, seconds: i64) -> i32 {
        match self {
            Zone::Fixed(offset) => *offset,
            Zone::Named(tz) => match jiff::Timestamp::from_second(seconds) {
                Ok(t) => tz.to_offset(t).seconds(),
                Err(_) => 0,
            },
        }
    }
}

fn parse_fixed(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |r: std::ops::Range<usize>| -> Option<i32> {
        let d = b.get(r)?;
        if d.len() == 2 && d.iter().all(u8::is_ascii_digit) {
            Some(((d[0] - b'0') * 10 + (d[1] - b'0')) as i32)
        } else {
            None
        }
    };
    let hours = digits(1..3)?;
    let minutes = match b.len() {
        5 => digits(3..5)?,
        6 if b.get(3) == Some(&b':') => digits(4..6)?,
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

/// Year, month, day of the day `days` after 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// [`civil_from_days`] of `z - 719_468` for a non-negative `z`.
#[inline]
fn civil_from_shifted_days(z: u64) -> (i64, u32, u32) {
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400) as i64 + i64::from(month <= 2);
    (year, month, day)
}

#[inline]
fn two(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
}

fn year(out: &mut Vec<u8>, y: i64) {
    if (0..=9999).contains(&y) {
        let y = y as u32;
        two(out, y / 100);
        two(out, y % 100);
    } else {
        out.extend_from_slice(y.to_string().as_bytes());
    }
}

/// Writes `date sep HH:MM:SS` of `seconds` (local seconds since the epoch).
fn date_time(out: &mut Vec<u8>, seconds: i64, sep: u8) {
    // From 0000-03-01 on (all of the Timestamp range, in any zone) the count
    // is non-negative, and unsigned division is cheaper.
    const SHIFT: i64 = 719_468 * 86_400;
    let (y, m, d, sod) = match u64::try_from(seconds.saturating_add(SHIFT)) {
        Ok(t) => {
            let (y, m, d) = civil_from_shifted_days(t / 86_400);
            (y, m, d, (t % 86_400) as u32)
        }
        Err(_) => {
            let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
            (y, m, d, seconds.rem_euclid(86_400) as u32)
        }
    };
    let digit = |v: u32| b'0' + (v % 10) as u8;
    let (hh, mm, ss) = (sod / 3600, sod / 60 % 60, sod % 60);
    let rest = [
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(d / 10),
        digit(d),
        sep,
        digit(hh / 10),
        digit(hh),
        b':',
        digit(mm / 10),
        digit(mm),
        b':',
        digit(ss / 10),
        digit(ss),
    ];
    if (0..=9999).contains(&y) {
        let y = y as u32;
        let year = [digit(y / 1000), digit(y / 100), digit(y / 10), digit(y)];
        out.extend_from_slice(&year);
    } else {
        year(out, y);
    }
    out.extend_from_slice(&rest);
}

/// `YYYY-MM-DD HH:MM:SS` of `ts` in `zone` (seconds truncated).
pub(crate) fn local(out: &mut Vec<u8>, ts: Ts, zone: &Zone) {
    let offset = zone.offset_at(ts.seconds);
    date_time(out, ts.seconds.saturating_add(i64::from(offset)), b' ');
}

/// `YYYY-MM-DD HH:MM:SS+HHMM` of `ts` in `zone`. The seconds of an offset that
/// has them (local mean time before ~1900) are dropped: `+08:05:43` is `+0805`.
pub(crate) fn local_with_offset(out: &mut Vec<u8>, ts: Ts, zone: &Zone) {
    let offset = zone.offset_at(ts.seconds);
    date_time(out, ts.seconds.saturating_add(i64::from(offset)), b' ');
    let abs = offset.unsigned_abs();
    let (h, m) = (abs / 3600, abs / 60 % 60);
    let digit = |v: u32| b'0' + (v % 10) as u8;
    out.extend_from_slice(&[
        if offset < 0 { b'-' } else { b'+' },
        digit(h / 10),
        digit(h),
        digit(m / 10),
        digit(m),
    ]);
}

/// [`local_with_offset`] that remembers its last text: the times of an
/// execution's tasks often fall in the same second (one task ends, the next
/// starts), and the text depends on the seconds only.
#[derive(Default)]
pub(crate) struct OffsetTimes {
    last: Option<(i64, [u8; 32], usize)>,
}

impl OffsetTimes {
    pub(crate) fn write(&mut self, out: &mut Vec<u8>, ts: Ts, zone: &Zone) {
        if let Some((seconds, text, len)) = &self.last {
            if *seconds == ts.seconds {
                out.extend_from_slice(text.get(..*len).unwrap_or_default());
                return;
            }
        }
        let start = out.len();
        local_with_offset(out, ts, zone);
        let written = out.get(start..).unwrap_or_default();
        let mut text = [0u8; 32];
        if let Some(slot) = text.get_mut(..written.len()) {
            slot.copy_from_slice(written);
            self.last = Some((ts.seconds, text, written.len()));
        }
    }
}

/// RFC 3339 UTC with six fraction digits: `2017-10-28T01:43:12.123456Z`.
pub(crate) fn rfc3339_micros(out: &mut Vec<u8>, ts: Ts) {
    date_time(out, ts.seconds, b'T');
    out.push(b'.');
    let micros = ts.nanos.clamp(0, 999_999_999) as u32 / 1000;
    two(out, micros / 10_000);
    two(out, micros / 100 % 100);
    two(out, micros % 100);
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn ts(seconds: i64, nanos: i32) -> Ts {
        Ts { seconds, nanos }
    }

    #[test]
    fn parses_zones() {
        let fixed = |s: &str| match Zone::parse(s) {
            Ok(Zone::Fixed(o)) => Some(o),
            _ => None,
        };
        assert_eq!(fixed("UTC"), Some(0));
        assert_eq!(fixed("+08:00"), Some(8 * 3600));
        assert_eq!(fixed("-0530"), Some(-(5 * 3600 + 1800)));
        assert_eq!(fixed("-00:00"), Some(0));
        assert_eq!(fixed("+23:59"), Some(23 * 3600 + 59 * 60));
        assert!(matches!(Zone::parse("Asia/Shanghai"), Ok(Zone::Named(_))));
        // The host's zone: whatever it is, it resolves (UTC when none is set).
        assert!(Zone::parse("local").is_ok());
        assert!(Zone::parse("Local").is_err());
        assert!(matches!(Zone::parse("Etc/UTC"), Ok(Zone::Named(_))));
        for bad in [
            "",
            "utc",
            "Mars/Base",
            "+24:00",
            "+08:60",
            "+8",
            "+08:0",
            "08:00",
            "+0800x",
            "+08-00",
        ] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_local_times() {
        // 2017-10-28T01:43:12Z, the seed's example at +08:00.
        let t = ts(1_509_154_992, 999_999_999);
        assert_eq!(fmt(|o| local(o, t, &Zone::Fixed(0))), "2017-10-28 01:43:12");
        assert_eq!(
            fmt(|o| local(o, t, &Zone::parse("Asia/Shanghai").unwrap())),
            "2017-10-28 09:43:12"
        );
        assert_eq!(
            fmt(|o| local_with_offset(o, t, &Zone::parse("+08:00").unwrap())),
            "2017-10-28 09:43:12+0800"
        );
        assert_eq!(
            fmt(|o| local_with_offset(o, t, &Zone::parse("-0530").unwrap())),
            "2017-10-27 20:13:12-0530"
        );
        assert_eq!(
            fmt(|o| local_with_offset(o, t, &Zone::Fixed(0))),
            "2017-10-28 01:43:12+0000"
        );
        // New York: EDT in October, EST in January.
        let ny = Zone::parse("America/New_York").unwrap();
        assert_eq!(
            fmt(|o| local_with_offset(o, t, &ny)),
            "2017-10-27 21:43:12-0400"
        );
        assert_eq!(
            fmt(|o| local_with_offset(o, ts(1_484_000_000, 0), &ny)),
            "2017-01-09 17:13:20-0500"
        );
        // Daylight saving time past the last listed transition (the POSIX rule).
        assert_eq!(
            fmt(|o| local_with_offset(o, ts(4_118_126_400, 0), &ny)),
            "2100-07-01 08:00:00-0400"
        );
        assert_eq!(
            fmt(|o| local_with_offset(o, ts(5_695_963_200, 0), &ny)),
            "2150-07-01 08:00:00-0400"
        );
        assert_eq!(
            fmt(|o| local_with_offset(o, ts(4_102_488_000, 0), &ny)),
            "2100-01-01 07:00:00-0500"
        );
        // Shanghai's local mean time has seconds in its offset.
        let sh = Zone::parse("Asia/Shanghai").unwrap();
        assert_eq!(
            fmt(|o| local_with_offset(o, ts(-2_500_000_000, 0), &sh)),
            "1890-10-12 03:39:03+0805"
        );
    }

    #[test]
    fn formats_extremes_and_negative_times() {
        assert_eq!(
            fmt(|o| local(o, ts(0, 0), &Zone::Fixed(0))),
            "1970-01-01 00:00:00"
        );
        assert_eq!(
            fmt(|o| local(o, ts(-1, 0), &Zone::Fixed(0))),
            "1969-12-31 23:59:59"
        );
        assert_eq!(
            fmt(|o| local(o, ts(MIN_SECONDS, 0), &Zone::Fixed(0))),
            "0001-01-01 00:00:00"
        );
        assert_eq!(
            fmt(|o| local(o, ts(MAX_SECONDS, 0), &Zone::Fixed(0))),
            "9999-12-31 23:59:59"
        );
        assert_eq!(
            fmt(|o| local(o, ts(MAX_SECONDS, 0), &Zone::Fixed(3600))),
            "10000-01-01 00:59:59"
        );
        assert_eq!(
            fmt(|o| local(o, ts(951_782_400, 0), &Zone::Fixed(0))),
            "2000-02-29 00:00:00"
        );
        assert_eq!(
            fmt(|o| rfc3339_micros(o, ts(1_509_154_992, 123_456_789))),
            "2017-10-28T01:43:12.123456Z"
        );
        assert_eq!(
            fmt(|o| rfc3339_micros(o, ts(0, 0))),
            "1970-01-01T00:00:00.000000Z"
        );
        assert!(ts(MAX_SECONDS, 999_999_999).is_valid());
        assert!(!ts(MAX_SECONDS + 1, 0).is_valid());
        assert!(!ts(0, -1).is_valid());
        assert!(!ts(0, 1_000_000_000).is_valid());
    }

    #[test]
    fn civil_dates_agree_with_jiff() {
        let mut s = MIN_SECONDS;
        while s <= MAX_SECONDS {
            let want = jiff::Timestamp::from_second(s)
                .unwrap()
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string();
            assert_eq!(fmt(|o| local(o, ts(s, 0), &Zone::Fixed(0))), want);
            s += 86_400 * 37 + 3_601;
        }
    }
}
