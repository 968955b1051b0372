//! [`TimeValue`]: conversions, Go-layout formatting (always UTC) and template methods.

use std::borrow::Cow;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{TimeValue, Value};

const NANOS_PER_SEC: i128 = 1_000_000_000;

fn saturate(x: i128) -> i64 {
    i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX })
}

impl TimeValue {
    /// From seconds and nanoseconds since the Unix epoch.
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        TimeValue {
            unix_nanos: i128::from(secs) * NANOS_PER_SEC + i128::from(nanos),
        }
    }

    /// From nanoseconds since the Unix epoch.
    pub fn from_unix_nanos(unix_nanos: i128) -> Self {
        TimeValue { unix_nanos }
    }

    /// The current time.
    pub fn now() -> Self {
        SystemTime::now().into()
    }

    /// Seconds since the epoch (Go `Unix()`), rounded towards negative infinity.
    pub fn unix(&self) -> i64 {
        saturate(self.unix_nanos.div_euclid(NANOS_PER_SEC))
    }

    /// Milliseconds since the epoch (Go `UnixMilli()`).
    pub fn unix_milli(&self) -> i64 {
        saturate(self.unix_nanos.div_euclid(1_000_000))
    }

    /// Microseconds since the epoch (Go `UnixMicro()`).
    pub fn unix_micro(&self) -> i64 {
        saturate(self.unix_nanos.div_euclid(1_000))
    }

    /// Nanoseconds since the epoch (Go `UnixNano()`), saturated to `i64`.
    pub fn unix_nano(&self) -> i64 {
        saturate(self.unix_nanos)
    }

    /// Formats with a Go reference layout (`"2006-01-02T15:04:05Z07:00"`), in UTC.
    pub fn format(&self, layout: &str) -> String {
        format_layout(&Civil::from(*self), layout)
    }
}

impl From<SystemTime> for TimeValue {
    fn from(t: SystemTime) -> Self {
        let unix_nanos = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
            Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
        };
        TimeValue { unix_nanos }
    }
}

/// Like Go's `time.Time.String()` for a UTC time:
/// `2006-01-02 15:04:05.999999999 -0700 MST`.
impl fmt::Display for TimeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format("2006-01-02 15:04:05.999999999 -0700 MST"))
    }
}

/// Broken-down UTC time.
struct Civil {
    year: i128,
    month: u32,
    day: u32,
    yday: u32,
    weekday: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

fn is_leap(y: i128) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

impl From<TimeValue> for Civil {
    fn from(t: TimeValue) -> Self {
        let secs = t.unix_nanos.div_euclid(NANOS_PER_SEC);
        let nanos = t.unix_nanos.rem_euclid(NANOS_PER_SEC) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i128::from(month <= 2);
        const CUMULATIVE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let leap_extra = u32::from(month > 2 && is_leap(year));
        let yday = CUMULATIVE[(month as usize - 1) % 12] + day + leap_extra;
        Civil {
            year,
            month,
            day,
            yday,
            weekday: (days + 4).rem_euclid(7) as u32,
            hour: sod / 3600,
            minute: sod / 60 % 60,
            second: sod % 60,
            nanos,
        }
    }
}

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Clone, Copy)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    UpperPm,
    LowerPm,
    /// `MST`
    Tz,
    /// `Z07...`: the literal rendering for UTC.
    IsoTz(&'static str),
    /// `-07...`: the literal rendering for UTC.
    NumTz(&'static str),
    Frac {
        digits: usize,
        trim: bool,
        sep: u8,
    },
}

fn lower_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_lowercase)
}

/// Go's `nextStdChunk`: returns (literal prefix length, std, length of the std token).
fn next_std(b: &[u8]) -> Option<(usize, Std, usize)> {
    let has = |i: usize, pat: &str| b.get(i..i + pat.len()) == Some(pat.as_bytes());
    for i in 0..b.len() {
        let found = match b[i] {
            b'J' if has(i, "Jan") => {
                if has(i, "January") {
                    Some((Std::LongMonth, 7))
                } else if !lower_at(b, i + 3) {
                    Some((Std::Month, 3))
                } else {
                    None
                }
            }
            b'M' if has(i, "Mon") => {
                if has(i, "Monday") {
                    Some((Std::LongWeekDay, 6))
                } else if !lower_at(b, i + 3) {
                    Some((Std::WeekDay, 3))
                } else {
                    None
                }
            }
            b'M' if has(i, "MST") => Some((Std::Tz, 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Std::ZeroMonth, 2)),
                Some(b'2') => Some((Std::ZeroDay, 2)),
                Some(b'3') => Some((Std::ZeroHour12, 2)),
                Some(b'4') => Some((Std::ZeroMinute, 2)),
                Some(b'5') => Some((Std::ZeroSecond, 2)),
                Some(b'6') => Some((Std::Year, 2)),
                Some(b'0') if b.get(i + 2) == Some(&b'2') => Some((Std::ZeroYearDay, 3)),
                _ => None,
            },
            b'1' if b.get(i + 1) == Some(&b'5') => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if has(i, "2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if b.get(i + 1) == Some(&b'2') => {
                if has(i + 1, "2006") {
                    // `_2006` is a literal `_` followed by the long year.
                    return Some((i + 1, Std::LongYear, 4));
                }
                Some((Std::UnderDay, 2))
            }
            b'_' if has(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if b.get(i + 1) == Some(&b'M') => Some((Std::UpperPm, 2)),
            b'p' if b.get(i + 1) == Some(&b'm') => Some((Std::LowerPm, 2)),
            b'-' => [
                ("-070000", "+000000"),
                ("-07:00:00", "+00:00:00"),
                ("-0700", "+0000"),
                ("-07:00", "+00:00"),
                ("-07", "+00"),
            ]
            .into_iter()
            .find(|(pat, _)| has(i, pat))
            .map(|(pat, utc)| (Std::NumTz(utc), pat.len())),
            b'Z' => ["Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07"]
                .into_iter()
                .find(|pat| has(i, pat))
                .map(|pat| (Std::IsoTz("Z"), pat.len())),
            sep @ (b'.' | b',') if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while b.get(j) == Some(&ch) {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    let digits = j - (i + 1);
                    Some((
                        Std::Frac {
                            digits,
                            trim: ch == b'9',
                            sep,
                        },
                        j - i,
                    ))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return Some((i, std, len));
        }
    }
    None
}

fn push_int(out: &mut Vec<u8>, v: i128, width: usize) {
    let s = if v < 0 {
        format!("-{:0width$}", v.unsigned_abs())
    } else {
        format!("{v:0width$}")
    };
    out.extend_from_slice(s.as_bytes());
}

fn format_layout(c: &Civil, layout: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(layout.len() + 16);
    let mut rest = layout.as_bytes();
    while let Some((prefix, std, len)) = next_std(rest) {
        out.extend_from_slice(&rest[..prefix]);
        rest = &rest[prefix + len..];
        let hour12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        match std {
            Std::LongMonth => out.extend_from_slice(month_name(c.month).as_bytes()),
            Std::Month => out.extend_from_slice(&month_name(c.month).as_bytes()[..3]),
            Std::NumMonth => push_int(&mut out, c.month.into(), 0),
            Std::ZeroMonth => push_int(&mut out, c.month.into(), 2),
            Std::LongWeekDay => out.extend_from_slice(day_name(c.weekday).as_bytes()),
            Std::WeekDay => out.extend_from_slice(&day_name(c.weekday).as_bytes()[..3]),
            Std::Day => push_int(&mut out, c.day.into(), 0),
            Std::UnderDay => {
                if c.day < 10 {
                    out.push(b' ');
                }
                push_int(&mut out, c.day.into(), 0);
            }
            Std::ZeroDay => push_int(&mut out, c.day.into(), 2),
            Std::UnderYearDay => {
                let s = format!("{:>3}", c.yday);
                out.extend_from_slice(s.as_bytes());
            }
            Std::ZeroYearDay => push_int(&mut out, c.yday.into(), 3),
            Std::Hour => push_int(&mut out, c.hour.into(), 2),
            Std::Hour12 => push_int(&mut out, hour12.into(), 0),
            Std::ZeroHour12 => push_int(&mut out, hour12.into(), 2),
            Std::Minute => push_int(&mut out, c.minute.into(), 0),
            Std::ZeroMinute => push_int(&mut out, c.minute.into(), 2),
            Std::Second => push_int(&mut out, c.second.into(), 0),
            Std::ZeroSecond => push_int(&mut out, c.second.into(), 2),
            Std::LongYear => push_int(&mut out, c.year, 4),
            Std::Year => push_int(&mut out, c.year.rem_euclid(100), 2),
            Std::UpperPm => out.extend_from_slice(if c.hour >= 12 { b"PM" } else { b"AM" }),
            Std::LowerPm => out.extend_from_slice(if c.hour >= 12 { b"pm" } else { b"am" }),
            Std::Tz => out.extend_from_slice(b"UTC"),
            Std::IsoTz(s) | Std::NumTz(s) => out.extend_from_slice(s.as_bytes()),
            Std::Frac { digits, trim, sep } => {
                let all = format!("{:09}", c.nanos);
                let mut n = digits.min(9);
                if trim {
                    while n > 0 && all.as_bytes().get(n - 1) == Some(&b'0') {
                        n -= 1;
                    }
                    if n == 0 {
                        continue;
                    }
                }
                out.push(sep);
                out.extend_from_slice(&all.as_bytes()[..n]);
            }
        }
    }
    out.extend_from_slice(rest);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn month_name(m: u32) -> &'static str {
    LONG_MONTHS[(m as usize + 11) % 12]
}

fn day_name(d: u32) -> &'static str {
    LONG_DAYS[d as usize % 7]
}

/// Calls a method on a time value. `Ok(None)` means there is no such method.
pub(crate) fn call_method(
    t: &TimeValue,
    name: &str,
    args: &[Cow<'_, Value>],
) -> Result<Option<Value>, String> {
    let want = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            ))
        }
    };
    let civil = || Civil::from(*t);
    let v = match name {
        "Unix" => Value::Int(t.unix()),
        "UnixMilli" => Value::Int(t.unix_milli()),
        "UnixMicro" => Value::Int(t.unix_micro()),
        "UnixNano" => Value::Int(t.unix_nano()),
        "UTC" => Value::Time(*t),
        "String" => Value::Str(t.to_string()),
        "Year" => Value::Int(saturate(civil().year)),
        "YearDay" => Value::Int(civil().yday.into()),
        "Day" => Value::Int(civil().day.into()),
        "Hour" => Value::Int(civil().hour.into()),
        "Minute" => Value::Int(civil().minute.into()),
        "Second" => Value::Int(civil().second.into()),
        "Nanosecond" => Value::Int(civil().nanos.into()),
        "Format" => {
            want(1)?;
            return match args.first().map(|a| a.as_ref()) {
                Some(Value::Str(layout)) => Ok(Some(Value::Str(t.format(layout)))),
                Some(other) => Err(format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                )),
                None => Err("wrong number of args for Format: want 1 got 0".to_owned()),
            };
        }
        _ => return Ok(None),
    };
    want(0)?;
    Ok(Some(v))
}
