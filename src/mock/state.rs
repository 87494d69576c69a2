//! The mock's booking state: seeded reference data, holds, confirmations and video links, and
//! the answer to each modelled operation. Pure and synchronous: the HTTP side calls in under a
//! lock and never awaits while holding it.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Offset, TimeZone, Utc, Weekday};
use chrono_tz::Europe::London;
use serde_json::{Value, json};

use crate::Id;
use crate::types::{
    Appointment, AppointmentCancel, AppointmentCreate, AppointmentEdit, AppointmentReschedule, AppointmentReservation, AppointmentType,
    AppointmentTypePractitionerType, AppointmentTypeSector, Location, Practitioner, Slot, Title, VideoLink, VideoLinkCreate, Webhook,
    WebhookCreate,
};

/// An answer: status and JSON body (`None` for a body-less answer).
pub(crate) type Answer = (u16, Option<Value>);

/// Default page size of list operations when the request sets none (Hero's is not documented).
const DEFAULT_PAGE_SIZE: usize = 20;

/// A seeded practitioner.
struct Staff {
    id: u64,
    title: Title,
    first_name: &'static str,
    last_name: &'static str,
    location: u64,
    appointment_types: &'static [u64],
}

#[derive(Debug, Clone)]
struct Booked {
    slot: Slot,
    practitioner: u64,
    patient_id: Option<Id>,
    /// The patient a placeholder booking is really for, until it is relinked.
    unmatched: Option<Id>,
    reason: Option<String>,
    reserved_until: DateTime<Utc>,
    confirmed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
}

/// What the diary covers: how many open days from the start's own day, and whether weekends
/// are open days.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Diary {
    pub(crate) days: u32,
    pub(crate) weekends: bool,
}

/// Surgery sessions in UK local time (`Europe/London`): a morning and a late afternoon clinic,
/// as GP practices commonly run them. In UTC they move by an hour at each clock change.
const SESSIONS: [((u32, u32), (u32, u32)); 2] = [((8, 30), (11, 30)), ((15, 0), (18, 0))];

impl Diary {
    /// The open days, in order: the start's own day in London, then the following days,
    /// weekends skipped unless open.
    fn open_days(self, start: DateTime<Utc>) -> impl Iterator<Item = NaiveDate> {
        // Checked: near the ends of chrono's range the local time may not be representable
        // (London's 1847 offset is -0:01:15); the UTC date is the day then.
        let utc = start.naive_utc();
        let offset = London.offset_from_utc_datetime(&utc).fix();
        let first = utc.checked_add_offset(offset).unwrap_or(utc).date();
        first
            .iter_days()
            .filter(move |day| self.weekends || !matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
            .take(usize::try_from(self.days).unwrap_or(usize::MAX))
    }
}

/// `day` at `hour:minute` London time, in UTC. Surgery hours never fall in the hour a clock
/// change skips or repeats (01:00–02:00), so there is exactly one such instant.
fn london(day: NaiveDate, (hour, minute): (u32, u32)) -> Option<DateTime<Utc>> {
    let local = day.and_time(NaiveTime::from_hms_opt(hour, minute, 0)?);
    London.from_local_datetime(&local).earliest().map(|at| at.with_timezone(&Utc))
}

/// Whether `booked` holds its slot at `now`: confirmed, or a hold that has not lapsed, and not
/// cancelled.
fn holds(booked: &Booked, now: DateTime<Utc>) -> bool {
    booked.cancelled_at.is_none() && (booked.confirmed_at.is_some() || booked.reserved_until > now)
}

/// The practice's cancellation window the mock enforces (Hero's value is per practice).
const CANCELLATION_POLICY_HOURS: u64 = 24;
/// The same window as a duration (24 fits an i64).
const CANCELLATION_WINDOW: Duration = Duration::hours(CANCELLATION_POLICY_HOURS as i64);

/// Something that happened that Hero announces by webhook: the event name and the object's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Event {
    /// The practice group whose request caused it (`None`: the mock's main one).
    pub(crate) practice_group_id: Option<String>,
    pub(crate) name: &'static str,
    pub(crate) object: &'static str,
    pub(crate) id: String,
}

/// A webhook created through the API, with its signing key (kept for signing deliveries). Its
/// `Debug` shows neither the key nor the values of the headers sent with each delivery (they
/// often carry the receiver's own credentials).
#[derive(Clone)]
pub(crate) struct Subscription {
    pub(crate) id: String,
    pub(crate) url: String,
    pub(crate) event_type: String,
    pub(crate) signing_key: Option<String>,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) created_at: DateTime<Utc>,
    /// The practice group that created it (`None`: the mock's main one): it hears that group's
    /// events only.
    pub(crate) practice_group_id: Option<String>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("signing_key", &self.signing_key.as_ref().map(|_| "[redacted]"))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub(crate) struct State {
    types: Vec<AppointmentType>,
    locations: Vec<Location>,
    practitioners: Vec<Practitioner>,
    slots: Vec<Slot>,
    appointments: BTreeMap<u64, Booked>,
    next_appointment: u64,
    links: Vec<String>,
    hold: Duration,
    webhooks: Vec<Subscription>,
    next_webhook: u64,
    /// Events not yet handed to the webhook deliverer.
    events: Vec<Event>,
    /// The practice group the request being answered acts for: its events and webhooks are its own.
    pub(crate) acting_for: Option<String>,
    /// The practice's clinical system: staff bookings, the listing lag, unmatched patients.
    pub(crate) clinical: super::clinical::Clinical,
}

fn ok(value: impl serde::Serialize) -> Answer {
    (200, Some(serde_json::to_value(value).unwrap_or(Value::Null)))
}

/// Hero's 400 body: `{error, statusCode, message: [{code, expected, path}]}`.
pub(crate) fn invalid(code: &str, expected: &str, path: &[&str]) -> Answer {
    (400, Some(json!({"error": true, "statusCode": 400, "message": [{"code": code, "expected": expected, "path": path}]})))
}

fn list<T: serde::Serialize>(items: &[T], query: &BTreeMap<String, String>) -> Answer {
    let size = query.get("page_size").and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(DEFAULT_PAGE_SIZE);
    let index = query.get("page_index").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let page: Vec<&T> = items.iter().skip(index.saturating_mul(size)).take(size).collect();
    (200, Some(json!({"data": page, "count": items.len()})))
}

/// Hero's 400 for anything asked of a cancelled appointment (confirm, edit, cancel, reschedule).
fn cancelled() -> Answer {
    invalid("appointment_cancelled", "an appointment that is not cancelled", &["id"])
}

/// Reads a request body the way Hero validates it: every problem in one 400 with the validation
/// body. A field the type does not have (or that decoding would drop) is `unrecognized_keys`; an
/// id that is not a numeric string is `invalid_string`. The mock never stores less than it was
/// sent.
fn read_body<T: serde::de::DeserializeOwned + serde::Serialize>(body: &[u8], expected: &str) -> Result<T, Answer> {
    let parsed: T = serde_json::from_slice(body).map_err(|e| body_error(&e, expected))?;
    let (Ok(Value::Object(sent)), Ok(Value::Object(kept))) = (serde_json::from_slice::<Value>(body), serde_json::to_value(&parsed)) else {
        return Ok(parsed);
    };
    let mut issues = Vec::new();
    for (key, value) in &sent {
        // An empty map or list the type leaves out when it writes itself back (`"headers": {}`)
        // was kept: it is the type's own default.
        let empty = value.as_object().is_some_and(|m| m.is_empty()) || value.as_array().is_some_and(|a| a.is_empty());
        if !value.is_null() && !empty && !kept.contains_key(key) {
            issues.push(json!({"code": "unrecognized_keys", "expected": "only the documented fields", "path": [key]}));
        } else if (key == "id" || key.ends_with("_id")) && value.as_str().is_some_and(|v| crate::Id::new(v).is_err()) {
            issues.push(json!({"code": "invalid_string", "expected": "a numeric string", "path": [key]}));
        }
    }
    if issues.is_empty() { Ok(parsed) } else { Err((400, Some(json!({"error": true, "statusCode": 400, "message": issues})))) }
}

/// `serde_json`'s message names a missing or mistyped field; the value is never repeated.
fn body_error(error: &serde_json::Error, expected: &str) -> Answer {
    let text = error.to_string();
    let field = text.split('`').nth(1).unwrap_or_default();
    if text.starts_with("missing field") { invalid("required", "a value", &[field]) } else { invalid("invalid_type", expected, &[]) }
}

impl State {
    /// Deterministic data for `seed` and `opening`: 3 appointment types, 2 locations, 3
    /// practitioners and the `diary`'s days of morning and afternoon slots in UK surgery hours
    /// from `opening`'s own day, about one in four already gone.
    pub(crate) fn seeded(seed: u64, diary: Diary, hold: Duration, lag: Duration, opening: DateTime<Utc>) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        // Each type is assigned to a practitioner: a null `assignee_id` (nullable + allOf $ref)
        // is valid to progenitor but not to strict JSON Schema validators such as Prism.
        let types = [
            (1, "GP consultation", 10, AppointmentTypePractitionerType::Gp, 11),
            (2, "Practice nurse appointment", 15, AppointmentTypePractitionerType::Nurse, 12),
            (3, "Blood test", 10, AppointmentTypePractitionerType::Nurse, 12),
        ]
        .into_iter()
        .map(|(id, name, duration, practitioner_type, assignee)| AppointmentType {
            admin_booking_invoice_required: Some(false),
            assignee_id: Some(Id::from(assignee)),
            assignee_type: None,
            duration: duration.into(),
            form_id: None,
            id: Id::from(id),
            in_person: true,
            name: name.into(),
            next_available_at: None,
            partner_slot_name: name.into(),
            practitioner_type,
            price: 0.0,
            sector: Some(AppointmentTypeSector::Nhs),
            slot_count: 0.into(),
            telephone: false,
            use_partner_bookable_slots: false,
            video: false,
        })
        .collect::<Vec<_>>();
        let locations = [(1, "Riverside Surgery"), (2, "Hillview Health Centre")]
            .into_iter()
            .map(|(id, name)| Location { id: Some(Id::from(id)), name: Some(name.into()) })
            .collect();
        let staff = [
            Staff { id: 11, title: Title::Dr, first_name: "Amara", last_name: "Okafor", location: 1, appointment_types: &[1] },
            Staff { id: 12, title: Title::Ms, first_name: "Bethan", last_name: "Price", location: 1, appointment_types: &[2, 3] },
            Staff { id: 13, title: Title::Dr, first_name: "Rohan", last_name: "Mehta", location: 2, appointment_types: &[1] },
        ];
        let practitioners = staff
            .iter()
            .map(|s| Practitioner {
                id: Some(Id::from(s.id)),
                title: Some(s.title.clone()),
                first_name: Some(s.first_name.into()),
                last_name: Some(s.last_name.into()),
            })
            .collect();
        let mut slots = Vec::new();
        let mut next_slot = 100u64;
        let sessions =
            diary.open_days(opening).flat_map(|day| SESSIONS.iter().filter_map(move |&(from, to)| london(day, from).zip(london(day, to))));
        for (opens, closes) in sessions {
            for Staff { id: practitioner, location, appointment_types: type_ids, .. } in &staff {
                let (mut start, end) = (opens, closes);
                let mut turn = 0;
                while start < end {
                    let type_id = type_ids[turn % type_ids.len()];
                    let minutes = types
                        .iter()
                        .find(|t| t.id == Id::from(type_id))
                        .map_or(10, |t| t.duration.get().ok().and_then(|d| i64::try_from(d).ok()).unwrap_or(10));
                    let finish = start + Duration::minutes(minutes);
                    // About one slot in four is already gone when the mock starts.
                    if rng.u8(0..4) != 0 {
                        slots.push(Slot {
                            id: Some(next_slot.to_string()),
                            practitioner_id: Some(Id::from(*practitioner)),
                            appointment_type_id: Some(Id::from(type_id)),
                            location_id: Some(Id::from(*location)),
                            start_time: Some(start),
                            finish_time: Some(finish),
                        });
                    }
                    next_slot += 1;
                    start = finish;
                    turn += 1;
                }
            }
        }
        State {
            types,
            locations,
            practitioners,
            slots,
            appointments: BTreeMap::new(),
            next_appointment: 5001,
            links: Vec::new(),
            hold,
            webhooks: Vec::new(),
            next_webhook: 1,
            events: Vec::new(),
            acting_for: None,
            clinical: super::clinical::Clinical::new(lag),
        }
    }

    /// The seeded slots that have not started and that nobody holds or has booked at `now`,
    /// through Hero or in the clinical system: what is really free.
    pub(crate) fn free_slots(&self, now: DateTime<Utc>) -> Vec<Slot> {
        self.free(now).filter(|s| !self.clinical.has(s)).cloned().collect()
    }

    /// What Hero's slot list offers at `now`: the free slots, and those booked in the clinical
    /// system that Hero has not heard of yet (the listing lag). The taken slots are found once,
    /// not per slot, and nothing is cloned (a page of a year's diary clones only the page).
    fn free(&self, now: DateTime<Utc>) -> impl Iterator<Item = &Slot> {
        let taken: std::collections::BTreeSet<Option<&str>> =
            self.appointments.values().filter(|a| holds(a, now)).map(|a| a.slot.id.as_deref()).collect();
        self.slots.iter().filter(move |s| {
            s.start_time.is_some_and(|start| start > now)
                && !taken.contains(&s.id.as_deref())
                && !self.clinical.listed_as_taken(s.id.as_deref(), now)
        })
    }

    /// Whether `slot` cannot be booked at `now`: it has started (Hero offers no slot in the
    /// past), it is taken, or staff booked it in the clinical system (Hero learns that when it
    /// writes to the diary, whatever its list shows).
    fn unavailable(&self, slot: &Slot, now: DateTime<Utc>) -> bool {
        slot.start_time.is_none_or(|start| start <= now) || self.taken(slot, now) || self.clinical.has(slot)
    }

    /// Whether `slot` is one of the mock's.
    pub(crate) fn knows(&self, slot: &Slot) -> bool {
        slot.id.is_some() && self.slots.iter().any(|s| s.id == slot.id)
    }

    /// Every placeholder booking is relinked to its patient (the real record was matched).
    pub(crate) fn relink_placeholders(&mut self) {
        self.clinical.match_all();
        for booked in self.appointments.values_mut() {
            if let Some(patient) = booked.unmatched.take() {
                booked.patient_id = Some(patient);
            }
        }
    }

    fn taken(&self, slot: &Slot, now: DateTime<Utc>) -> bool {
        self.appointments.values().any(|a| a.slot.id == slot.id && holds(a, now))
    }

    /// An appointment Hero still has: confirmed, cancelled, or a hold that has not lapsed.
    fn live(&self, id: &str, now: DateTime<Utc>) -> Option<(u64, &Booked)> {
        let id: u64 = id.parse().ok()?;
        self.appointments
            .get(&id)
            .filter(|a| a.confirmed_at.is_some() || a.cancelled_at.is_some() || a.reserved_until > now)
            .map(|a| (id, a))
    }

    /// Adds events that happened elsewhere in the mock (a message's write-to-record ending).
    pub(crate) fn announce_events(&mut self, events: Vec<Event>) {
        self.events.extend(events);
    }

    /// The events since the last call, oldest first.
    pub(crate) fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn announce(&mut self, name: &'static str, id: u64) {
        let practice_group_id = self.acting_for.clone();
        self.events.push(Event { practice_group_id, name, object: "Appointment", id: id.to_string() });
    }

    fn appointment(&self, id: u64, booked: &Booked) -> Appointment {
        let slot = &booked.slot;
        // Slots are the mock's own: they always carry their ids.
        let location = slot.location_id.clone().unwrap_or_else(|| Id::from(0));
        Appointment {
            appointment_source: Some("partner_api".into()),
            appointment_template_name: None,
            appointment_type_id: slot.appointment_type_id.clone().unwrap_or_else(|| Id::from(0)),
            booking_confirmed_at: booked.confirmed_at,
            can_be_cancelled: booked.cancelled_at.is_none(),
            can_be_rescheduled: booked.confirmed_at.is_some() && booked.cancelled_at.is_none(),
            cancellation_policy_hours: Some(CANCELLATION_POLICY_HOURS.into()),
            cancelled_at: booked.cancelled_at,
            duration: slot.start_time.zip(slot.finish_time).map(|(s, f)| u64::try_from((f - s).num_minutes()).unwrap_or_default().into()),
            id: Id::from(id),
            in_person: true,
            link_id: None,
            location_name: self.locations.iter().find(|l| l.id.as_ref() == Some(&location)).and_then(|l| l.name.clone()),
            location_id: location,
            patient: None,
            patient_id: booked.patient_id.clone(),
            practitioner: None,
            practitioner_id: Id::from(booked.practitioner),
            reason: booked.reason.clone(),
            reserved_until: (booked.confirmed_at.is_none() && booked.cancelled_at.is_none()).then_some(booked.reserved_until),
            start_time: slot.start_time,
            suppress_mail: false,
            telephone: false,
            video: false,
            video_url: None,
        }
    }

    pub(crate) fn list_appointment_types(&self, query: &BTreeMap<String, String>) -> Answer {
        list(&self.types, query)
    }

    pub(crate) fn list_locations(&self, query: &BTreeMap<String, String>) -> Answer {
        list(&self.locations, query)
    }

    pub(crate) fn list_practitioners(&self, query: &BTreeMap<String, String>) -> Answer {
        list(&self.practitioners, query)
    }

    pub(crate) fn list_slots(&self, query: &BTreeMap<String, String>, now: DateTime<Utc>) -> Answer {
        let date = |key: &str| query.get(key).and_then(|v| NaiveDate::parse_from_str(v.get(..10).unwrap_or(v), "%Y-%m-%d").ok());
        let (from, to) = (date("start_date"), date("end_date"));
        let matches =
            |key: &str, value: &Option<Id>| query.get(key).is_none_or(|want| value.as_ref().map(Id::as_str) == Some(want.as_str()));
        let slots: Vec<&Slot> = self
            .free(now)
            .filter(|s| matches("appointment_type_id", &s.appointment_type_id))
            .filter(|s| matches("location_id", &s.location_id))
            .filter(|s| matches("practitioner_id", &s.practitioner_id))
            .filter(|s| {
                let day = s.start_time.map(|t| t.date_naive());
                from.is_none_or(|f| day.is_some_and(|d| d >= f)) && to.is_none_or(|t| day.is_some_and(|d| d <= t))
            })
            .collect();
        list(&slots, query)
    }

    /// Reserve: the slot matching the body, held for the hold period.
    pub(crate) fn create_appointment(&mut self, body: &[u8], now: DateTime<Utc>) -> Answer {
        let request: AppointmentCreate = match read_body(body, "an AppointmentCreate body") {
            Ok(request) => request,
            Err(answer) => return answer,
        };
        let slot = self.slots.iter().find(|s| {
            s.practitioner_id.as_ref() == Some(&request.practitioner_id)
                && s.location_id.as_ref() == Some(&request.location_id)
                && s.appointment_type_id.as_ref() == Some(&request.appointment_type_id)
                && s.start_time.is_some()
                && s.start_time == request.start_time
        });
        let Some(slot) = slot.cloned() else { return invalid("slot_not_found", "the start_time of a listed slot", &["start_time"]) };
        if self.unavailable(&slot, now) {
            return invalid("slot_unavailable", "a free slot", &["start_time"]);
        }
        let id = self.next_appointment;
        self.next_appointment += 1;
        let reserved_until = crate::time::later(now, self.hold);
        let practitioner = request.practitioner_id.as_str().parse().unwrap_or_default();
        self.clinical.held(&slot, now);
        let (patient_id, unmatched) = self.clinical.booked_against(request.patient_id);
        self.appointments.insert(
            id,
            Booked {
                slot,
                practitioner,
                patient_id,
                unmatched,
                reason: request.reason,
                reserved_until,
                confirmed_at: None,
                cancelled_at: None,
            },
        );
        ok(AppointmentReservation { id: Id::from(id), reserved_until: Some(reserved_until) })
    }

    /// Confirm: sets `booking_confirmed_at`; a lapsed hold is refused, a repeat is answered again.
    pub(crate) fn book_appointment(&mut self, id: &str, now: DateTime<Utc>) -> Answer {
        let Some(key) = id.parse::<u64>().ok().filter(|k| self.appointments.contains_key(k)) else { return (404, None) };
        let Some(booked) = self.appointments.get_mut(&key) else { return (404, None) };
        if booked.cancelled_at.is_some() {
            return cancelled();
        }
        let newly = booked.confirmed_at.is_none();
        if newly {
            if booked.reserved_until <= now {
                return invalid("reservation_expired", "a reservation whose reserved_until has not passed", &["id"]);
            }
            // Staff booked the held slot in the clinical system: writing it to the diary fails,
            // and the hold is gone.
            if self.clinical.has(&booked.slot) {
                booked.reserved_until = now;
                return invalid("slot_unavailable", "a slot the clinical system still has free", &["id"]);
            }
            booked.confirmed_at = Some(now);
        }
        let booked = booked.clone();
        if newly {
            self.announce("appointment.confirmed", key);
        }
        ok(self.appointment(key, &booked))
    }

    pub(crate) fn get_appointment(&self, id: &str, now: DateTime<Utc>) -> Answer {
        match self.live(id, now) {
            Some((key, booked)) => ok(self.appointment(key, booked)),
            None => (404, None),
        }
    }

    /// Edit: only before confirmation; moves the reservation to another free slot.
    pub(crate) fn edit_appointment(&mut self, id: &str, body: &[u8], now: DateTime<Utc>) -> Answer {
        let (key, booked, edit) = match self.open_for_change::<AppointmentEdit>(id, body, "an AppointmentEdit body", now) {
            Ok(opened) => opened,
            Err(answer) => return answer,
        };
        if booked.confirmed_at.is_some() {
            return invalid("appointment_confirmed", "an appointment that is not confirmed yet", &["id"]);
        }
        let current = booked.slot.clone();
        let target = match self.listed_slot(&edit.practitioner_id, edit.start_time) {
            Ok(target) => target,
            Err(answer) => return answer,
        };
        if target.id != current.id && self.unavailable(&target, now) && edit.suppress_availability_check != Some(true) {
            return invalid("slot_unavailable", "a free slot", &["start_time"]);
        }
        let Some(booked) = self.appointments.get_mut(&key) else { return (404, None) };
        booked.practitioner = edit.practitioner_id.as_str().parse().unwrap_or(booked.practitioner);
        booked.slot = target;
        let booked = booked.clone();
        ok(self.appointment(key, &booked))
    }

    /// What edit, cancel and reschedule check first, in Hero's order: the appointment exists
    /// (404), the body is valid (Hero's validation 400: it validates before it looks at the
    /// appointment), the appointment is not cancelled.
    fn open_for_change<T: serde::de::DeserializeOwned + serde::Serialize>(
        &self,
        id: &str,
        body: &[u8],
        expected: &str,
        now: DateTime<Utc>,
    ) -> Result<(u64, &Booked, T), Answer> {
        let (key, booked) = self.live(id, now).ok_or((404, None))?;
        let request = read_body(body, expected)?;
        if booked.cancelled_at.is_some() {
            return Err(cancelled());
        }
        Ok((key, booked, request))
    }

    /// The listed slot of `practitioner` at `start_time` (an edit or a reschedule names its target
    /// this way), or Hero's 400.
    fn listed_slot(&self, practitioner: &Id, start_time: Option<DateTime<Utc>>) -> Result<Slot, Answer> {
        self.slots
            .iter()
            .find(|s| s.practitioner_id.as_ref() == Some(practitioner) && start_time.is_some() && s.start_time == start_time)
            .cloned()
            .ok_or_else(|| invalid("slot_not_found", "the start_time of a listed slot", &["start_time"]))
    }

    /// Cancel: frees the slot. A confirmed appointment inside the practice's cancellation window
    /// is refused unless `suppress_cancellation_policy`; a cancelled one cannot be cancelled again.
    pub(crate) fn cancel_appointment(&mut self, id: &str, body: &[u8], now: DateTime<Utc>) -> Answer {
        let (key, booked, request) = match self.open_for_change::<AppointmentCancel>(id, body, "an AppointmentCancel body", now) {
            Ok(opened) => opened,
            Err(answer) => return answer,
        };
        let inside = booked.confirmed_at.is_some() && booked.slot.start_time.is_some_and(|start| start - now < CANCELLATION_WINDOW);
        if inside && request.suppress_cancellation_policy != Some(true) {
            return invalid("cancellation_policy", "a start time outside the practice's cancellation window", &["id"]);
        }
        let confirmed = booked.confirmed_at.is_some();
        let Some(booked) = self.appointments.get_mut(&key) else { return (404, None) };
        booked.cancelled_at = Some(now);
        let booked = booked.clone();
        if confirmed {
            // A released hold was never announced; a cancelled appointment is.
            self.announce("appointment.cancelled", key);
        }
        ok(self.appointment(key, &booked))
    }

    /// Reschedule: moves a confirmed appointment to another free slot, atomically (the old slot
    /// is freed only when the new one is taken).
    pub(crate) fn reschedule_appointment(&mut self, id: &str, body: &[u8], now: DateTime<Utc>) -> Answer {
        let (key, booked, request) = match self.open_for_change::<AppointmentReschedule>(id, body, "an AppointmentReschedule body", now) {
            Ok(opened) => opened,
            Err(answer) => return answer,
        };
        if booked.confirmed_at.is_none() {
            return invalid("appointment_not_confirmed", "a confirmed appointment (edit a reservation instead)", &["id"]);
        }
        let current = booked.slot.clone();
        let target = match self.listed_slot(&request.practitioner_id, Some(request.start_time)) {
            Ok(target) => target,
            Err(answer) => return answer,
        };
        if target.id == current.id {
            // Already there (a repeated request): the same answer, no second move.
            let booked = booked.clone();
            return ok(self.appointment(key, &booked));
        }
        if self.unavailable(&target, now) {
            return invalid("slot_unavailable", "a free slot", &["start_time"]);
        }
        let Some(booked) = self.appointments.get_mut(&key) else { return (404, None) };
        booked.practitioner = request.practitioner_id.as_str().parse().unwrap_or(booked.practitioner);
        booked.slot = target;
        let booked = booked.clone();
        self.announce("appointment.rescheduled", key);
        ok(self.appointment(key, &booked))
    }

    /// Create a webhook: stored with its signing key, answered without it.
    pub(crate) fn create_webhook(&mut self, body: &[u8], now: DateTime<Utc>) -> Answer {
        let request: WebhookCreate = match read_body(body, "a WebhookCreate body") {
            Ok(request) => request,
            Err(answer) => return answer,
        };
        let url = request.url.to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return invalid("invalid_url", "an http(s) URL", &["url"]);
        }
        let subscription = Subscription {
            id: self.next_webhook.to_string(),
            url,
            event_type: request.event_type.to_string(),
            signing_key: request.signing_key.filter(|k| !k.is_empty()),
            headers: request.headers.into_iter().collect(),
            created_at: now,
            practice_group_id: self.acting_for.clone(),
        };
        self.next_webhook += 1;
        let answer = webhook(&subscription);
        self.webhooks.push(subscription);
        ok(answer)
    }

    pub(crate) fn list_webhooks(&self, query: &BTreeMap<String, String>) -> Answer {
        let wanted = query.get("event_type");
        let hooks: Vec<Webhook> = self
            .webhooks
            .iter()
            .filter(|w| w.practice_group_id == self.acting_for && wanted.is_none_or(|e| *e == w.event_type))
            .map(webhook)
            .collect();
        list(&hooks, query)
    }

    pub(crate) fn delete_webhook(&mut self, id: &str) -> Answer {
        let before = self.webhooks.len();
        let acting_for = self.acting_for.clone();
        self.webhooks.retain(|w| w.id != id || w.practice_group_id != acting_for);
        if self.webhooks.len() == before { (404, None) } else { (200, None) }
    }

    /// Whether the webhook still exists (a deleted one gets no more deliveries).
    pub(crate) fn has_webhook(&self, id: &str) -> bool {
        self.webhooks.iter().any(|w| w.id == id)
    }

    /// The webhooks subscribed to `event`.
    pub(crate) fn subscribers(&self, event: &Event) -> Vec<Subscription> {
        self.webhooks.iter().filter(|w| w.event_type == event.name && w.practice_group_id == event.practice_group_id).cloned().collect()
    }

    pub(crate) fn create_video_link(&mut self, body: &[u8]) -> Answer {
        if let Err(answer) = read_body::<VideoLinkCreate>(body, "a VideoLinkCreate body") {
            return answer;
        }
        let id = format!("{}", 9001 + self.links.len());
        self.links.push(id.clone());
        ok(VideoLink {
            video_link: Some(format!("https://video.mock.herohealth.invalid/r/{id}")),
            short_link_id: Some(id.clone()),
            main_room_url: Some(format!("https://video.mock.herohealth.invalid/room/{id}")),
        })
    }

    /// Link status by `id` or `url` (as in seed 001: `{status, type, reference}`).
    pub(crate) fn get_link_status(&self, query: &BTreeMap<String, String>) -> Answer {
        let wanted = query.get("id").cloned().or_else(|| query.get("url").and_then(|u| u.rsplit('/').next().map(str::to_owned)));
        match wanted.filter(|id| self.links.contains(id)) {
            Some(_) => (200, Some(json!({"status": "unused", "type": "video", "reference": []}))),
            None => (404, None),
        }
    }
}

/// A webhook as the API answers it: never its signing key.
fn webhook(subscription: &Subscription) -> Webhook {
    Webhook {
        id: subscription.id.clone(),
        event_type: subscription.event_type.clone(),
        url: subscription.url.clone(),
        signing_key: None,
        headers: subscription.headers.clone().into_iter().collect(),
        created_at: subscription.created_at.into(),
        updated_at: subscription.created_at.to_rfc3339(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscriptions_debug_shows_no_key_header_value_or_url() {
        let subscription = Subscription {
            id: "7".into(),
            url: "https://partner.example/hooks?token=url-secret".into(),
            event_type: "appointment.confirmed".into(),
            signing_key: Some("whsec-signing-secret".into()),
            headers: [("authorization".to_owned(), "Bearer header-secret".to_owned())].into_iter().collect(),
            created_at: "2026-03-29T01:30:00Z".parse().unwrap(),
            practice_group_id: None,
        };
        let debug = format!("{subscription:?}");
        for secret in ["whsec-signing-secret", "header-secret", "url-secret", "partner.example"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("authorization") && debug.contains("[redacted]"), "{debug}");
    }
}
