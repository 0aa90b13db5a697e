//! Composite types of the codec: performatives, delivery states, termini,
//! SASL frames and transaction types. Property round trips (including the
//! lenient encodings real peers send: symbolic descriptors, list32,
//! explicit trailing nulls) and hand-written byte vectors.

use std::borrow::Cow;
use std::fmt::Debug;

use muon::codec::messaging::{
    Accepted, DeleteOnClose, DeleteOnNoLinks, DeleteOnNoLinksOrMessages, DeleteOnNoMessages,
    DeliveryState, Modified, Received, Rejected, Released, Source, Target, TargetKind,
    TerminusDurability, TerminusExpiryPolicy,
};
use muon::codec::security::{
    SaslChallenge, SaslCode, SaslFrame, SaslInit, SaslMechanisms, SaslOutcome, SaslResponse,
};
use muon::codec::transactions::{
    Coordinator, Declare, Declared, Discharge, TransactionalState, TxnCapability,
};
use muon::codec::transport::{
    AmqpError, Attach, Begin, Close, Detach, Disposition, End, Flow, Open, Performative,
    ReceiverSettleMode, Role, SenderSettleMode, Transfer, condition,
};
use muon::codec::{
    Array, Binary, Decode, DecodeError, DecodeErrorKind, DecodeResult, Decoder, DeliveryTag,
    Descriptor, Encode, Map, Symbol, Symbols, TypeKind, Value,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Helpers: encode, decode, and rewrite an encoding into its lenient forms.

fn enc<T: Encode + ?Sized>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    v.encode(&mut out);
    out
}

/// Decodes one `T` that must fill `b` exactly.
fn decode_one<T: for<'a> Decode<'a>>(b: &[u8]) -> DecodeResult<T> {
    let mut d = Decoder::new(b);
    let ctor = d.read_constructor()?;
    let v = T::decode(&mut d, ctor)?;
    assert!(d.is_empty(), "{} bytes left over", d.remaining().len());
    Ok(v)
}

fn decode_performative(b: &[u8]) -> DecodeResult<Performative> {
    let mut d = Decoder::new(b);
    let p = Performative::decode(&mut d)?;
    assert!(d.is_empty(), "{} bytes left over", d.remaining().len());
    Ok(p)
}

fn decode_sasl(b: &[u8]) -> DecodeResult<SaslFrame> {
    let mut d = Decoder::new(b);
    let f = SaslFrame::decode(&mut d)?;
    assert!(d.is_empty(), "{} bytes left over", d.remaining().len());
    Ok(f)
}

/// The number of fields the XML gives each composite.
fn field_count(descriptor: &str) -> u32 {
    match descriptor {
        "amqp:open:list" => 10,
        "amqp:begin:list" => 8,
        "amqp:attach:list" => 14,
        "amqp:flow:list" => 11,
        "amqp:transfer:list" => 11,
        "amqp:disposition:list" => 6,
        "amqp:detach:list" => 3,
        "amqp:end:list" | "amqp:close:list" => 1,
        "amqp:error:list" => 3,
        "amqp:received:list" => 2,
        "amqp:accepted:list" | "amqp:released:list" => 0,
        "amqp:rejected:list" => 1,
        "amqp:modified:list" => 3,
        "amqp:source:list" => 11,
        "amqp:target:list" => 7,
        "amqp:coordinator:list" | "amqp:declare:list" | "amqp:declared:list" => 1,
        "amqp:discharge:list" | "amqp:transactional-state:list" => 2,
        "amqp:sasl-mechanisms:list" => 1,
        "amqp:sasl-init:list" => 3,
        "amqp:sasl-challenge:list" | "amqp:sasl-response:list" => 1,
        "amqp:sasl-outcome:list" => 2,
        "amqp:delete-on-close:list"
        | "amqp:delete-on-no-links:list"
        | "amqp:delete-on-no-messages:list"
        | "amqp:delete-on-no-links-or-messages:list" => 0,
        other => panic!("no field count for {other}"),
    }
}

/// A top-level described list taken apart: descriptor bytes, element
/// count, and the bytes of the elements.
fn split(b: &[u8]) -> (&[u8], u32, &[u8]) {
    assert_eq!(b[0], 0x00, "not a described value");
    let desc_len = match b[1] {
        0x44 => 2,
        0x53 => 3,
        0x80 => 10,
        c => panic!("descriptor code 0x{c:02x}"),
    };
    let (desc, rest) = b.split_at(desc_len);
    match rest[0] {
        0x45 => {
            assert_eq!(rest.len(), 1);
            (desc, 0, &[])
        }
        0xc0 => {
            let size = usize::from(rest[1]);
            assert_eq!(rest.len(), 2 + size);
            (desc, u32::from(rest[2]), &rest[3..])
        }
        0xd0 => {
            let size = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
            assert_eq!(rest.len(), 5 + size);
            (
                desc,
                u32::from_be_bytes(rest[5..9].try_into().unwrap()),
                &rest[9..],
            )
        }
        c => panic!("list code 0x{c:02x}"),
    }
}

/// Reassembles a described list, as list32 if `wide` (or if it must be).
fn join(desc: &[u8], count: u32, content: &[u8], wide: bool) -> Vec<u8> {
    let mut out = desc.to_vec();
    if wide || content.len() >= 255 || count > 255 {
        out.push(0xd0);
        out.extend_from_slice(&(content.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
    } else {
        out.extend_from_slice(&[0xc0, content.len() as u8 + 1, count as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn symbolic_descriptor(name: &str) -> Vec<u8> {
    let mut d = vec![0x00, 0xa3, name.len() as u8];
    d.extend_from_slice(name.as_bytes());
    d
}

/// `content` followed by `n` nulls.
fn with_nulls(content: &[u8], n: u32) -> Vec<u8> {
    let mut c = content.to_vec();
    c.extend(std::iter::repeat_n(0x40, n as usize));
    c
}

/// Other encodings of the same composite that a decoder must accept:
/// symbolic descriptor, list32, trailing fields sent as explicit nulls
/// (up to the full field count, and past it as a newer peer might), and
/// all of these together.
fn lenient_forms(b: &[u8], name: &str) -> Vec<(&'static str, Vec<u8>)> {
    let fields = field_count(name);
    let (desc, count, content) = split(b);
    let sym = symbolic_descriptor(name);
    let missing = fields.saturating_sub(count);
    vec![
        ("as encoded", b.to_vec()),
        ("symbolic descriptor", join(&sym, count, content, false)),
        ("list32", join(desc, count, content, true)),
        (
            "explicit trailing nulls",
            join(desc, count + missing, &with_nulls(content, missing), false),
        ),
        (
            "unknown trailing nulls",
            join(
                desc,
                count + missing + 2,
                &with_nulls(content, missing + 2),
                false,
            ),
        ),
        (
            "symbolic, list32, nulls",
            join(&sym, count + missing, &with_nulls(content, missing), true),
        ),
    ]
}

fn check_forms<T: PartialEq + Debug>(
    v: &T,
    bytes: &[u8],
    name: &str,
    decode: impl Fn(&[u8]) -> DecodeResult<T>,
) {
    for (form, b) in lenient_forms(bytes, name) {
        match decode(&b) {
            Ok(got) => assert_eq!(&got, v, "{form}: {b:02x?}"),
            Err(e) => panic!("{form}: {e} in {b:02x?}"),
        }
    }
}

/// Encode, decode, compare; then the lenient forms.
fn roundtrip<T>(v: &T)
where
    T: Encode + for<'a> Decode<'a> + PartialEq + Debug,
{
    let b = enc(v);
    check_forms(v, &b, <T as Decode>::NAME, decode_one::<T>);
}

fn roundtrip_performative(p: &Performative) {
    let b = enc(p);
    check_forms(p, &b, p.descriptor_name(), decode_performative);
    // The inherent encoder writes the same bytes as the trait's.
    let mut again = Vec::new();
    p.encode(&mut again);
    assert_eq!(again, b);
}

/// A restricted type: encode, decode, compare.
fn roundtrip_plain<T>(v: T)
where
    T: Encode + for<'a> Decode<'a> + PartialEq + Debug,
{
    assert_eq!(decode_one::<T>(&enc(&v)).unwrap(), v);
}

fn kind<T: Debug>(r: DecodeResult<T>) -> DecodeErrorKind {
    match r {
        Ok(v) => panic!("decoded {v:?}, expected an error"),
        Err(e) => e.kind,
    }
}

/// Asserts a MissingField error. Names are compared loosely (the
/// composite by its short name inside the descriptor, the field with `-`
/// or `_`) so that the check does not depend on which spelling the
/// composite macro reports.
fn assert_missing<T: Debug>(r: DecodeResult<T>, composite: &str, field: &str) {
    match kind(r) {
        DecodeErrorKind::MissingField {
            composite: c,
            field: f,
        } => {
            assert!(
                c == composite || c == format!("amqp:{composite}:list"),
                "composite {c}, expected {composite}"
            );
            assert_eq!(f.replace('_', "-"), field);
        }
        k => panic!("expected MissingField, got {k:?}"),
    }
}

// ---------------------------------------------------------------------------
// Strategies.

fn symbol() -> BoxedStrategy<Symbol> {
    prop_oneof![
        9 => "[a-zA-Z0-9:._-]{0,20}",
        1 => "[a-z]{250,300}",
    ]
    .prop_map(Symbol)
    .boxed()
}

fn symbols() -> BoxedStrategy<Symbols> {
    vec(symbol(), 0..4).prop_map(Symbols).boxed()
}

fn bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        9 => vec(any::<u8>(), 0..40),
        1 => vec(any::<u8>(), 250..300),
    ]
    .boxed()
}

fn binary() -> BoxedStrategy<Binary> {
    bytes().prop_map(Binary).boxed()
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        9 => "\\PC{0,24}",
        1 => "[a-z]{250,300}",
    ]
    .boxed()
}

fn tag() -> BoxedStrategy<DeliveryTag> {
    vec(any::<u8>(), 0..=32)
        .prop_map(|b| DeliveryTag::new(&b).unwrap())
        .boxed()
}

fn owned_symbol(s: String) -> Value<'static> {
    Value::Symbol(Cow::Owned(s))
}

fn scalar() -> BoxedStrategy<Value<'static>> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u8>().prop_map(Value::Ubyte),
        any::<u16>().prop_map(Value::Ushort),
        any::<u32>().prop_map(Value::Uint),
        any::<u64>().prop_map(Value::Ulong),
        any::<i8>().prop_map(Value::Byte),
        any::<i16>().prop_map(Value::Short),
        any::<i32>().prop_map(Value::Int),
        any::<i64>().prop_map(Value::Long),
        proptest::num::f64::NORMAL.prop_map(Value::Double),
        any::<i64>().prop_map(Value::Timestamp),
        any::<[u8; 16]>().prop_map(Value::Uuid),
        any::<char>().prop_map(Value::Char),
        "\\PC{0,12}".prop_map(|s| Value::String(Cow::Owned(s))),
        "[a-z:-]{0,12}".prop_map(owned_symbol),
        vec(any::<u8>(), 0..12).prop_map(|b| Value::Binary(Cow::Owned(b))),
        vec(any::<u32>(), 0..4).prop_map(|v| Value::Array(Array {
            descriptor: None,
            kind: TypeKind::Uint,
            items: v.into_iter().map(Value::Uint).collect(),
        })),
    ]
    .boxed()
}

fn value() -> BoxedStrategy<Value<'static>> {
    scalar()
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(Value::List),
                vec(("[a-z]{1,8}".prop_map(owned_symbol), inner.clone()), 0..4)
                    .prop_map(Value::Map),
                (any::<u64>(), inner.clone())
                    .prop_map(|(c, v)| Value::Described(Box::new((Descriptor::Code(c), v)))),
                ("[a-z:]{1,12}", inner).prop_map(|(s, v)| {
                    Value::Described(Box::new((Descriptor::Symbol(Cow::Owned(s)), v)))
                }),
            ]
        })
        .boxed()
}

fn map() -> BoxedStrategy<Map> {
    let key = prop_oneof![
        4 => "[a-z-]{1,12}".prop_map(owned_symbol),
        1 => any::<u64>().prop_map(Value::Ulong),
    ];
    vec((key, value()), 0..4).prop_map(Map).boxed()
}

fn role() -> BoxedStrategy<Role> {
    any::<bool>().prop_map(Role::from_bool).boxed()
}

fn snd_settle_mode() -> BoxedStrategy<SenderSettleMode> {
    (0u8..3)
        .prop_map(|v| SenderSettleMode::from_value(v).unwrap())
        .boxed()
}

fn rcv_settle_mode() -> BoxedStrategy<ReceiverSettleMode> {
    (0u8..2)
        .prop_map(|v| ReceiverSettleMode::from_value(v).unwrap())
        .boxed()
}

fn durability() -> BoxedStrategy<TerminusDurability> {
    (0u32..3)
        .prop_map(|v| TerminusDurability::from_value(v).unwrap())
        .boxed()
}

fn expiry() -> BoxedStrategy<TerminusExpiryPolicy> {
    prop_oneof![
        Just(TerminusExpiryPolicy::LinkDetach),
        Just(TerminusExpiryPolicy::SessionEnd),
        Just(TerminusExpiryPolicy::ConnectionClose),
        Just(TerminusExpiryPolicy::Never),
    ]
    .boxed()
}

fn sasl_code() -> BoxedStrategy<SaslCode> {
    (0u8..5)
        .prop_map(|v| SaslCode::from_value(v).unwrap())
        .boxed()
}

fn amqp_error() -> BoxedStrategy<AmqpError> {
    (symbol(), of(text()), of(map()))
        .prop_map(|(condition, description, info)| AmqpError {
            condition,
            description,
            info,
        })
        .boxed()
}

fn received() -> BoxedStrategy<Received> {
    (any::<u32>(), any::<u64>())
        .prop_map(|(section_number, section_offset)| Received {
            section_number,
            section_offset,
        })
        .boxed()
}

fn rejected() -> BoxedStrategy<Rejected> {
    of(amqp_error())
        .prop_map(|error| Rejected { error })
        .boxed()
}

fn modified() -> BoxedStrategy<Modified> {
    (of(any::<bool>()), of(any::<bool>()), of(map()))
        .prop_map(
            |(delivery_failed, undeliverable_here, message_annotations)| Modified {
                delivery_failed,
                undeliverable_here,
                message_annotations,
            },
        )
        .boxed()
}

fn declared() -> BoxedStrategy<Declared> {
    binary().prop_map(|txn_id| Declared { txn_id }).boxed()
}

/// The delivery states that are outcomes.
fn outcome() -> BoxedStrategy<DeliveryState> {
    prop_oneof![
        Just(DeliveryState::Accepted),
        rejected().prop_map(DeliveryState::Rejected),
        Just(DeliveryState::Released),
        modified().prop_map(DeliveryState::Modified),
        declared().prop_map(DeliveryState::Declared),
    ]
    .boxed()
}

fn transactional_state() -> BoxedStrategy<TransactionalState> {
    (binary(), of(outcome()))
        .prop_map(|(txn_id, outcome)| TransactionalState {
            txn_id,
            outcome: outcome.map(Box::new),
        })
        .boxed()
}

fn delivery_state() -> BoxedStrategy<DeliveryState> {
    prop_oneof![
        outcome(),
        received().prop_map(DeliveryState::Received),
        transactional_state().prop_map(DeliveryState::TransactionalState),
    ]
    .boxed()
}

fn source() -> BoxedStrategy<Source> {
    (
        (
            of(text()),
            durability(),
            expiry(),
            any::<u32>(),
            any::<bool>(),
            of(map()),
        ),
        (
            of(symbol()),
            of(map()),
            of(delivery_state()),
            of(symbols()),
            of(symbols()),
        ),
    )
        .prop_map(
            |(
                (address, durable, expiry_policy, timeout, dynamic, dynamic_node_properties),
                (distribution_mode, filter, default_outcome, outcomes, capabilities),
            )| Source {
                address,
                durable,
                expiry_policy,
                timeout,
                dynamic,
                dynamic_node_properties,
                distribution_mode,
                filter,
                default_outcome,
                outcomes,
                capabilities,
            },
        )
        .boxed()
}

fn target() -> BoxedStrategy<Target> {
    (
        of(text()),
        durability(),
        expiry(),
        any::<u32>(),
        any::<bool>(),
        of(map()),
        of(symbols()),
    )
        .prop_map(
            |(
                address,
                durable,
                expiry_policy,
                timeout,
                dynamic,
                dynamic_node_properties,
                capabilities,
            )| Target {
                address,
                durable,
                expiry_policy,
                timeout,
                dynamic,
                dynamic_node_properties,
                capabilities,
            },
        )
        .boxed()
}

fn coordinator() -> BoxedStrategy<Coordinator> {
    of(symbols())
        .prop_map(|capabilities| Coordinator { capabilities })
        .boxed()
}

fn target_kind() -> BoxedStrategy<TargetKind> {
    prop_oneof![
        target().prop_map(TargetKind::Target),
        coordinator().prop_map(TargetKind::Coordinator),
    ]
    .boxed()
}

fn open() -> BoxedStrategy<Open> {
    (
        (
            text(),
            of(text()),
            any::<u32>(),
            any::<u16>(),
            of(any::<u32>()),
        ),
        (
            of(symbols()),
            of(symbols()),
            of(symbols()),
            of(symbols()),
            of(map()),
        ),
    )
        .prop_map(
            |(
                (container_id, hostname, max_frame_size, channel_max, idle_time_out),
                (
                    outgoing_locales,
                    incoming_locales,
                    offered_capabilities,
                    desired_capabilities,
                    properties,
                ),
            )| Open {
                container_id,
                hostname,
                max_frame_size,
                channel_max,
                idle_time_out,
                outgoing_locales,
                incoming_locales,
                offered_capabilities,
                desired_capabilities,
                properties,
            },
        )
        .boxed()
}

fn begin() -> BoxedStrategy<Begin> {
    (
        of(any::<u16>()),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        prop_oneof![Just(u32::MAX), any::<u32>()],
        of(symbols()),
        of(symbols()),
        of(map()),
    )
        .prop_map(
            |(
                remote_channel,
                next_outgoing_id,
                incoming_window,
                outgoing_window,
                handle_max,
                offered_capabilities,
                desired_capabilities,
                properties,
            )| Begin {
                remote_channel,
                next_outgoing_id,
                incoming_window,
                outgoing_window,
                handle_max,
                offered_capabilities,
                desired_capabilities,
                properties,
            },
        )
        .boxed()
}

fn attach() -> BoxedStrategy<Attach> {
    (
        (
            text(),
            any::<u32>(),
            role(),
            snd_settle_mode(),
            rcv_settle_mode(),
            of(source()),
            of(target_kind()),
        ),
        (
            of(map()),
            any::<bool>(),
            of(any::<u32>()),
            of(any::<u64>()),
            of(symbols()),
            of(symbols()),
            of(map()),
        ),
    )
        .prop_map(
            |(
                (name, handle, role, snd_settle_mode, rcv_settle_mode, source, target),
                (
                    unsettled,
                    incomplete_unsettled,
                    initial_delivery_count,
                    max_message_size,
                    offered_capabilities,
                    desired_capabilities,
                    properties,
                ),
            )| Attach {
                name,
                handle,
                role,
                snd_settle_mode,
                rcv_settle_mode,
                source,
                target,
                unsettled,
                incomplete_unsettled,
                initial_delivery_count,
                max_message_size,
                offered_capabilities,
                desired_capabilities,
                properties,
            },
        )
        .boxed()
}

fn flow() -> BoxedStrategy<Flow> {
    (
        (
            of(any::<u32>()),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            of(any::<u32>()),
            of(any::<u32>()),
        ),
        (
            of(any::<u32>()),
            of(any::<u32>()),
            any::<bool>(),
            any::<bool>(),
            of(map()),
        ),
    )
        .prop_map(
            |(
                (
                    next_incoming_id,
                    incoming_window,
                    next_outgoing_id,
                    outgoing_window,
                    handle,
                    delivery_count,
                ),
                (link_credit, available, drain, echo, properties),
            )| Flow {
                next_incoming_id,
                incoming_window,
                next_outgoing_id,
                outgoing_window,
                handle,
                delivery_count,
                link_credit,
                available,
                drain,
                echo,
                properties,
            },
        )
        .boxed()
}

fn transfer() -> BoxedStrategy<Transfer> {
    (
        (
            any::<u32>(),
            of(any::<u32>()),
            of(tag()),
            of(any::<u32>()),
            of(any::<bool>()),
            any::<bool>(),
        ),
        (
            of(rcv_settle_mode()),
            of(delivery_state()),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (handle, delivery_id, delivery_tag, message_format, settled, more),
                (rcv_settle_mode, state, resume, aborted, batchable),
            )| Transfer {
                handle,
                delivery_id,
                delivery_tag,
                message_format,
                settled,
                more,
                rcv_settle_mode,
                state,
                resume,
                aborted,
                batchable,
            },
        )
        .boxed()
}

fn disposition() -> BoxedStrategy<Disposition> {
    (
        role(),
        any::<u32>(),
        of(any::<u32>()),
        any::<bool>(),
        of(delivery_state()),
        any::<bool>(),
    )
        .prop_map(
            |(role, first, last, settled, state, batchable)| Disposition {
                role,
                first,
                last,
                settled,
                state,
                batchable,
            },
        )
        .boxed()
}

fn detach() -> BoxedStrategy<Detach> {
    (any::<u32>(), any::<bool>(), of(amqp_error()))
        .prop_map(|(handle, closed, error)| Detach {
            handle,
            closed,
            error,
        })
        .boxed()
}

fn end() -> BoxedStrategy<End> {
    of(amqp_error()).prop_map(|error| End { error }).boxed()
}

fn close() -> BoxedStrategy<Close> {
    of(amqp_error()).prop_map(|error| Close { error }).boxed()
}

fn performative() -> BoxedStrategy<Performative> {
    prop_oneof![
        open().prop_map(Performative::from),
        begin().prop_map(Performative::from),
        attach().prop_map(Performative::from),
        flow().prop_map(Performative::from),
        transfer().prop_map(Performative::from),
        disposition().prop_map(Performative::from),
        detach().prop_map(Performative::from),
        end().prop_map(Performative::from),
        close().prop_map(Performative::from),
    ]
    .boxed()
}

fn sasl_mechanisms() -> BoxedStrategy<SaslMechanisms> {
    symbols()
        .prop_map(|sasl_server_mechanisms| SaslMechanisms {
            sasl_server_mechanisms,
        })
        .boxed()
}

fn sasl_init() -> BoxedStrategy<SaslInit> {
    (symbol(), of(binary()), of(text()))
        .prop_map(|(mechanism, initial_response, hostname)| SaslInit {
            mechanism,
            initial_response,
            hostname,
        })
        .boxed()
}

fn sasl_outcome() -> BoxedStrategy<SaslOutcome> {
    (sasl_code(), of(binary()))
        .prop_map(|(code, additional_data)| SaslOutcome {
            code,
            additional_data,
        })
        .boxed()
}

fn sasl_frame() -> BoxedStrategy<SaslFrame> {
    prop_oneof![
        sasl_mechanisms().prop_map(SaslFrame::from),
        sasl_init().prop_map(SaslFrame::from),
        binary().prop_map(|challenge| SaslFrame::from(SaslChallenge { challenge })),
        binary().prop_map(|response| SaslFrame::from(SaslResponse { response })),
        sasl_outcome().prop_map(SaslFrame::from),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------
// Property round trips.

proptest! {
    #[test]
    fn open_roundtrips(v in open()) { roundtrip(&v); }
    #[test]
    fn begin_roundtrips(v in begin()) { roundtrip(&v); }
    #[test]
    fn attach_roundtrips(v in attach()) { roundtrip(&v); }
    #[test]
    fn flow_roundtrips(v in flow()) { roundtrip(&v); }
    #[test]
    fn transfer_roundtrips(v in transfer()) { roundtrip(&v); }
    #[test]
    fn disposition_roundtrips(v in disposition()) { roundtrip(&v); }
    #[test]
    fn detach_roundtrips(v in detach()) { roundtrip(&v); }
    #[test]
    fn end_roundtrips(v in end()) { roundtrip(&v); }
    #[test]
    fn close_roundtrips(v in close()) { roundtrip(&v); }
    #[test]
    fn amqp_error_roundtrips(v in amqp_error()) { roundtrip(&v); }

    #[test]
    fn performative_roundtrips(p in performative()) {
        roundtrip_performative(&p);
        let short = p.name();
        prop_assert_eq!(p.descriptor_name(), format!("amqp:{short}:list"));
    }

    #[test]
    fn received_roundtrips(v in received()) { roundtrip(&v); }
    #[test]
    fn rejected_roundtrips(v in rejected()) { roundtrip(&v); }
    #[test]
    fn modified_roundtrips(v in modified()) { roundtrip(&v); }
    #[test]
    fn source_roundtrips(v in source()) { roundtrip(&v); }
    #[test]
    fn target_roundtrips(v in target()) { roundtrip(&v); }
    #[test]
    fn target_kind_roundtrips(v in target_kind()) {
        let b = enc(&v);
        let name = match &v {
            TargetKind::Target(_) => Target::NAME,
            TargetKind::Coordinator(_) => Coordinator::NAME,
        };
        check_forms(&v, &b, name, decode_one::<TargetKind>);
    }
    #[test]
    fn delivery_state_roundtrips(v in delivery_state()) {
        let b = enc(&v);
        check_forms(&v, &b, v.descriptor_name(), decode_one::<DeliveryState>);
    }

    #[test]
    fn coordinator_roundtrips(v in coordinator()) { roundtrip(&v); }
    #[test]
    fn declare_roundtrips(
        // Some(Null) is written as null, which reads back as None.
        global_id in of(value().prop_filter("null is absent", |v| *v != Value::Null)),
    ) {
        roundtrip(&Declare { global_id });
    }
    #[test]
    fn discharge_roundtrips(txn_id in binary(), fail in of(any::<bool>())) {
        roundtrip(&Discharge { txn_id, fail });
    }
    #[test]
    fn declared_roundtrips(v in declared()) { roundtrip(&v); }
    #[test]
    fn transactional_state_roundtrips(v in transactional_state()) { roundtrip(&v); }

    #[test]
    fn sasl_mechanisms_roundtrips(v in sasl_mechanisms()) { roundtrip(&v); }
    #[test]
    fn sasl_init_roundtrips(v in sasl_init()) { roundtrip(&v); }
    #[test]
    fn sasl_challenge_roundtrips(challenge in binary()) { roundtrip(&SaslChallenge { challenge }); }
    #[test]
    fn sasl_response_roundtrips(response in binary()) { roundtrip(&SaslResponse { response }); }
    #[test]
    fn sasl_outcome_roundtrips(v in sasl_outcome()) { roundtrip(&v); }
    #[test]
    fn sasl_frame_roundtrips(f in sasl_frame()) {
        let b = enc(&f);
        check_forms(&f, &b, f.descriptor_name(), decode_sasl);
        prop_assert_eq!(f.descriptor_name(), format!("amqp:{}:list", f.name()));
    }

    /// Every ubyte either is a sender-settle-mode or is refused as
    /// InvalidField; likewise for the other restricted integers.
    #[test]
    fn restricted_ubytes_accept_exactly_their_choices(n in any::<u8>()) {
        let b = [0x50, n];
        match SenderSettleMode::from_value(n) {
            Some(m) => prop_assert_eq!(decode_one::<SenderSettleMode>(&b).unwrap(), m),
            None => prop_assert_eq!(
                kind(decode_one::<SenderSettleMode>(&b)),
                DecodeErrorKind::InvalidField { field: "sender-settle-mode", value: u64::from(n) }
            ),
        }
        match ReceiverSettleMode::from_value(n) {
            Some(m) => prop_assert_eq!(decode_one::<ReceiverSettleMode>(&b).unwrap(), m),
            None => prop_assert_eq!(
                kind(decode_one::<ReceiverSettleMode>(&b)),
                DecodeErrorKind::InvalidField { field: "receiver-settle-mode", value: u64::from(n) }
            ),
        }
        match SaslCode::from_value(n) {
            Some(c) => prop_assert_eq!(decode_one::<SaslCode>(&b).unwrap(), c),
            None => prop_assert_eq!(
                kind(decode_one::<SaslCode>(&b)),
                DecodeErrorKind::InvalidField { field: "sasl-code", value: u64::from(n) }
            ),
        }
    }

    #[test]
    fn terminus_durability_accepts_exactly_its_choices(n in prop_oneof![0u32..6, any::<u32>()]) {
        let b = enc(&n);
        match TerminusDurability::from_value(n) {
            Some(v) => prop_assert_eq!(decode_one::<TerminusDurability>(&b).unwrap(), v),
            None => prop_assert_eq!(
                kind(decode_one::<TerminusDurability>(&b)),
                DecodeErrorKind::InvalidField { field: "terminus-durability", value: u64::from(n) }
            ),
        }
    }

    /// Arbitrary bytes never panic the performative and SASL decoders.
    #[test]
    fn garbage_never_panics(b in vec(any::<u8>(), 0..200)) {
        let _ = Performative::decode(&mut Decoder::new(&b));
        let _ = SaslFrame::decode(&mut Decoder::new(&b));
        let _ = DeliveryState::decode(&mut Decoder::new(&b));
    }

    /// Every proper prefix of a valid performative is an error, not a
    /// panic and not a different performative.
    #[test]
    fn truncated_performatives_fail(p in performative(), cut in any::<prop::sample::Index>()) {
        let b = enc(&p);
        let n = cut.index(b.len());
        prop_assert!(Performative::decode(&mut Decoder::new(&b[..n])).is_err());
    }
}

#[test]
fn restricted_types_roundtrip() {
    for r in [Role::Sender, Role::Receiver] {
        roundtrip_plain(r);
        assert_eq!(r.opposite().opposite(), r);
    }
    for m in [
        SenderSettleMode::Unsettled,
        SenderSettleMode::Settled,
        SenderSettleMode::Mixed,
    ] {
        roundtrip_plain(m);
    }
    for m in [ReceiverSettleMode::First, ReceiverSettleMode::Second] {
        roundtrip_plain(m);
    }
    for d in [
        TerminusDurability::None,
        TerminusDurability::Configuration,
        TerminusDurability::UnsettledState,
    ] {
        roundtrip_plain(d);
    }
    for e in [
        TerminusExpiryPolicy::LinkDetach,
        TerminusExpiryPolicy::SessionEnd,
        TerminusExpiryPolicy::ConnectionClose,
        TerminusExpiryPolicy::Never,
    ] {
        roundtrip_plain(e);
        assert_eq!(enc(&e), enc(&Symbol::from(e.as_str())));
    }
    for c in [
        SaslCode::Ok,
        SaslCode::Auth,
        SaslCode::Sys,
        SaslCode::SysPerm,
        SaslCode::SysTemp,
    ] {
        roundtrip_plain(c);
    }
    // Wire values as the XML gives them.
    assert_eq!(enc(&Role::Sender), [0x42]);
    assert_eq!(enc(&Role::Receiver), [0x41]);
    assert_eq!(decode_one::<Role>(&[0x56, 0x01]).unwrap(), Role::Receiver);
    assert_eq!(enc(&SenderSettleMode::Mixed), [0x50, 0x02]);
    assert_eq!(enc(&ReceiverSettleMode::Second), [0x50, 0x01]);
    assert_eq!(enc(&TerminusDurability::UnsettledState), [0x52, 0x02]);
    assert_eq!(enc(&SaslCode::SysTemp), [0x50, 0x04]);
}

#[test]
fn lifetime_policies_roundtrip() {
    roundtrip(&DeleteOnClose {});
    roundtrip(&DeleteOnNoLinks {});
    roundtrip(&DeleteOnNoMessages {});
    roundtrip(&DeleteOnNoLinksOrMessages {});
    roundtrip(&Accepted {});
    roundtrip(&Released {});
}

// ---------------------------------------------------------------------------
// Hand-written byte vectors.

#[test]
fn minimal_open_is_container_id_only() {
    // open(container-id="c1"): every other field absent.
    let bytes = [0x00, 0x53, 0x10, 0xc0, 0x05, 0x01, 0xa1, 0x02, b'c', b'1'];
    let expected = Open {
        container_id: "c1".into(),
        hostname: None,
        max_frame_size: u32::MAX,
        channel_max: u16::MAX,
        idle_time_out: None,
        outgoing_locales: None,
        incoming_locales: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    };
    assert_eq!(
        decode_performative(&bytes).unwrap(),
        Performative::Open(expected.clone())
    );
    // Defaults are written as trailing nulls and then elided.
    assert_eq!(enc(&expected), bytes);
}

#[test]
fn defaults_sent_explicitly_decode_to_the_default() {
    // begin(null, 1, 2, 3, handle-max=0xffffffff)
    let bytes = [
        0x00, 0x53, 0x11, 0xc0, 0x0d, 0x05, 0x40, 0x52, 0x01, 0x52, 0x02, 0x52, 0x03, 0x70, 0xff,
        0xff, 0xff, 0xff,
    ];
    let b = decode_one::<Begin>(&bytes).unwrap();
    assert_eq!(b.handle_max, u32::MAX);
    assert_eq!(b.remote_channel, None);
    assert_eq!(
        (b.next_outgoing_id, b.incoming_window, b.outgoing_window),
        (1, 2, 3)
    );
    // Re-encoded, handle-max is elided again.
    assert_eq!(
        enc(&b),
        [
            0x00, 0x53, 0x11, 0xc0, 0x08, 0x04, 0x40, 0x52, 0x01, 0x52, 0x02, 0x52, 0x03
        ]
    );
}

#[test]
fn list0_bodies() {
    assert_eq!(
        decode_performative(&[0x00, 0x53, 0x17, 0x45]).unwrap(),
        Performative::End(End { error: None })
    );
    assert_eq!(
        decode_performative(&[0x00, 0x53, 0x18, 0x45]).unwrap(),
        Performative::Close(Close { error: None })
    );
    assert_eq!(
        decode_one::<DeliveryState>(&[0x00, 0x53, 0x24, 0x45]).unwrap(),
        DeliveryState::Accepted
    );
    // And the encoder writes list0 for them.
    assert_eq!(enc(&End { error: None }), [0x00, 0x53, 0x17, 0x45]);
    assert_eq!(enc(&Close { error: None }), [0x00, 0x53, 0x18, 0x45]);
    assert_eq!(enc(&DeliveryState::Accepted), [0x00, 0x53, 0x24, 0x45]);
    assert_eq!(enc(&DeliveryState::Released), [0x00, 0x53, 0x26, 0x45]);
}

#[test]
fn missing_mandatory_fields() {
    // begin(remote-channel=7) with nothing after it.
    assert_missing(
        decode_performative(&[0x00, 0x53, 0x11, 0xc0, 0x04, 0x01, 0x60, 0x00, 0x07]),
        "begin",
        "next-outgoing-id",
    );
    // transfer as list0, and as an empty list8.
    assert_missing(
        decode_performative(&[0x00, 0x53, 0x14, 0x45]),
        "transfer",
        "handle",
    );
    assert_missing(
        decode_performative(&[0x00, 0x53, 0x14, 0xc0, 0x01, 0x00]),
        "transfer",
        "handle",
    );
    // attach("l", 0, role=null)
    assert_missing(
        decode_performative(&[
            0x00, 0x53, 0x12, 0xc0, 0x06, 0x03, 0xa1, 0x01, b'l', 0x43, 0x40,
        ]),
        "attach",
        "role",
    );
    // attach("l", 0) with role absent
    assert_missing(
        decode_performative(&[0x00, 0x53, 0x12, 0xc0, 0x05, 0x02, 0xa1, 0x01, b'l', 0x43]),
        "attach",
        "role",
    );
    // flow with incoming-window only (next-outgoing-id missing)
    assert_missing(
        decode_performative(&[0x00, 0x53, 0x13, 0xc0, 0x04, 0x02, 0x40, 0x52, 0x0a]),
        "flow",
        "next-outgoing-id",
    );
    // error without a condition, inside close
    assert_missing(
        decode_performative(&[0x00, 0x53, 0x18, 0xc0, 0x05, 0x01, 0x00, 0x53, 0x1d, 0x45]),
        "error",
        "condition",
    );
    // sasl-outcome without a code
    assert_missing(
        decode_sasl(&[0x00, 0x53, 0x44, 0x45]),
        "sasl-outcome",
        "code",
    );
    // transactional-state without a txn-id
    assert_missing(
        decode_one::<DeliveryState>(&[0x00, 0x53, 0x34, 0x45]),
        "transactional-state",
        "txn-id",
    );
}

#[test]
fn mandatory_null_is_missing() {
    // begin(null, null, 0, 0): next-outgoing-id sent as an explicit null.
    assert_missing(
        decode_performative(&[0x00, 0x53, 0x11, 0xc0, 0x05, 0x04, 0x40, 0x40, 0x43, 0x43]),
        "begin",
        "next-outgoing-id",
    );
    // disposition(role=null, first=0)
    assert_missing(
        decode_performative(&[0x00, 0x53, 0x15, 0xc0, 0x03, 0x02, 0x40, 0x43]),
        "disposition",
        "role",
    );
    // sasl-init(mechanism=null)
    assert_missing(
        decode_sasl(&[0x00, 0x53, 0x41, 0xc0, 0x02, 0x01, 0x40]),
        "sasl-init",
        "mechanism",
    );
}

#[test]
fn out_of_range_settle_mode_is_invalid_field() {
    // attach("l", 0, receiver, snd-settle-mode=3)
    let bytes = [
        0x00, 0x53, 0x12, 0xc0, 0x08, 0x04, 0xa1, 0x01, b'l', 0x43, 0x41, 0x50, 0x03,
    ];
    let err = decode_performative(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError {
            offset: 11,
            kind: DecodeErrorKind::InvalidField {
                field: "sender-settle-mode",
                value: 3
            }
        }
    );
    // A settle mode of the wrong type is UnexpectedType.
    let bytes = [
        0x00, 0x53, 0x12, 0xc0, 0x08, 0x04, 0xa1, 0x01, b'l', 0x43, 0x41, 0x52, 0x01,
    ];
    assert!(matches!(
        kind(decode_performative(&bytes)),
        DecodeErrorKind::UnexpectedType { .. }
    ));
}

#[test]
fn other_restricted_values_out_of_range() {
    // sasl-outcome(code=5)
    assert_eq!(
        kind(decode_sasl(&[
            0x00, 0x53, 0x44, 0xc0, 0x03, 0x01, 0x50, 0x05
        ])),
        DecodeErrorKind::InvalidField {
            field: "sasl-code",
            value: 5
        }
    );
    // source(null, durable=3)
    assert_eq!(
        kind(decode_one::<Source>(&[
            0x00, 0x53, 0x28, 0xc0, 0x04, 0x02, 0x40, 0x52, 0x03
        ])),
        DecodeErrorKind::InvalidField {
            field: "terminus-durability",
            value: 3
        }
    );
    // source(null, null, expiry-policy="soon")
    assert!(matches!(
        kind(decode_one::<Source>(&[
            0x00, 0x53, 0x28, 0xc0, 0x09, 0x03, 0x40, 0x40, 0xa3, 0x04, b's', b'o', b'o', b'n'
        ])),
        DecodeErrorKind::InvalidField {
            field: "terminus-expiry-policy",
            ..
        }
    ));
    // A delivery tag longer than 32 bytes.
    let mut content = vec![0x43, 0x43, 0xa0, 33];
    content.extend_from_slice(&[7; 33]);
    let bytes = join(&[0x00, 0x53, 0x14], 3, &content, false);
    assert!(matches!(
        kind(decode_performative(&bytes)),
        DecodeErrorKind::InvalidField { value: 33, .. }
    ));
}

#[test]
fn outcomes_as_a_single_symbol() {
    // source with nine nulls, then outcomes = "amqp:accepted:list" as a
    // lone symbol rather than an array.
    let name = b"amqp:accepted:list";
    let mut content = vec![0x40; 9];
    content.extend_from_slice(&[0xa3, name.len() as u8]);
    content.extend_from_slice(name);
    let bytes = join(&[0x00, 0x53, 0x28], 10, &content, false);
    let s = decode_one::<Source>(&bytes).unwrap();
    assert_eq!(
        s.outcomes,
        Some(Symbols(vec![Symbol::from("amqp:accepted:list")]))
    );
    assert!(s.outcomes.as_ref().unwrap().contains(Accepted::NAME));
    // It goes back out as an array (RabbitMQ refuses a lone symbol).
    let out = enc(&s);
    let (_, count, content) = split(&out);
    assert_eq!(count, 10);
    assert_eq!(content[9], 0xe0);
    assert_eq!(decode_one::<Source>(&out).unwrap(), s);
}

#[test]
fn unknown_and_undescribed_performatives() {
    assert_eq!(
        kind(decode_performative(&[0x00, 0x53, 0x19, 0x45])),
        DecodeErrorKind::UnknownDescriptor("0x00000000:0x00000019".into())
    );
    let mut sym = symbolic_descriptor("amqp:teleport:list");
    sym.push(0x45);
    assert_eq!(
        kind(decode_performative(&sym)),
        DecodeErrorKind::UnknownDescriptor("amqp:teleport:list".into())
    );
    // A delivery state is a valid composite, but not a performative.
    assert_eq!(
        kind(decode_performative(&[0x00, 0x53, 0x24, 0x45])),
        DecodeErrorKind::UnknownDescriptor("0x00000000:0x00000024".into())
    );
    // A performative where a SASL frame belongs.
    assert!(matches!(
        kind(decode_sasl(&[0x00, 0x53, 0x10, 0x45])),
        DecodeErrorKind::UnknownDescriptor(_)
    ));
    // Not described at all.
    assert_eq!(
        kind(decode_performative(&[0x45])),
        DecodeErrorKind::UnexpectedType {
            expected: "performative",
            found: 0x45
        }
    );
    assert_eq!(
        kind(decode_performative(&[0x40])),
        DecodeErrorKind::UnexpectedType {
            expected: "performative",
            found: 0x40
        }
    );
    // Described, but the body is not a list.
    assert!(matches!(
        kind(decode_performative(&[0x00, 0x53, 0x10, 0xa1, 0x00])),
        DecodeErrorKind::UnexpectedType { .. }
    ));
}

#[test]
fn wide_descriptor_encodings_are_accepted() {
    // end as list0 with the descriptor as a full ulong.
    let bytes = [0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x17, 0x45];
    assert_eq!(
        decode_performative(&bytes).unwrap(),
        Performative::End(End { error: None })
    );
}

#[test]
fn nested_symbolic_descriptors() {
    // transfer(handle=1, state=accepted) with the state's descriptor as
    // a symbol.
    let mut content = vec![0x52, 0x01, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40];
    content.extend(symbolic_descriptor(Accepted::NAME));
    content.push(0x45);
    let bytes = join(&[0x00, 0x53, 0x14], 8, &content, false);
    let Performative::Transfer(t) = decode_performative(&bytes).unwrap() else {
        panic!("not a transfer");
    };
    assert_eq!(t.handle, 1);
    assert_eq!(t.state, Some(DeliveryState::Accepted));
}

#[test]
fn payload_after_a_transfer_is_left_unread() {
    let t = Transfer {
        handle: 0,
        delivery_id: Some(5),
        delivery_tag: DeliveryTag::new(b"t1"),
        message_format: Some(0),
        settled: Some(false),
        more: false,
        rcv_settle_mode: None,
        state: None,
        resume: false,
        aborted: false,
        batchable: false,
    };
    let mut frame = enc(&t);
    let len = frame.len();
    frame.extend_from_slice(b"payload");
    let mut d = Decoder::new(&frame);
    assert_eq!(
        Performative::decode(&mut d).unwrap(),
        Performative::Transfer(t)
    );
    assert_eq!(d.position(), len);
    assert_eq!(d.remaining(), b"payload");
}

#[test]
fn list_size_disagreeing_with_fields_is_an_error() {
    // close with a list8 claiming 3 bytes but holding a one-byte null.
    let bytes = [0x00, 0x53, 0x18, 0xc0, 0x03, 0x01, 0x40, 0x40];
    assert!(matches!(
        kind(decode_performative(&bytes)),
        DecodeErrorKind::SizeMismatch { .. }
    ));
    // and one whose size runs past the input.
    let bytes = [0x00, 0x53, 0x18, 0xc0, 0x09, 0x01, 0x40];
    assert!(matches!(
        kind(decode_performative(&bytes)),
        DecodeErrorKind::LengthPastEnd { .. }
    ));
}

#[test]
fn transactional_state_outcome_must_be_an_outcome() {
    let inner = TransactionalState {
        txn_id: Binary(b"tx".to_vec()),
        outcome: None,
    };
    let outer = TransactionalState {
        txn_id: Binary(b"tx".to_vec()),
        outcome: Some(Box::new(DeliveryState::TransactionalState(inner))),
    };
    assert!(matches!(
        kind(decode_one::<DeliveryState>(&enc(&outer))),
        DecodeErrorKind::UnknownDescriptor(_)
    ));
    let received = TransactionalState {
        txn_id: Binary(b"tx".to_vec()),
        outcome: Some(Box::new(DeliveryState::Received(Received {
            section_number: 0,
            section_offset: 0,
        }))),
    };
    assert!(matches!(
        kind(decode_one::<TransactionalState>(&enc(&received))),
        DecodeErrorKind::UnknownDescriptor(_)
    ));
    // A real outcome goes through, and is terminal; the state is not.
    let ok = DeliveryState::TransactionalState(TransactionalState {
        txn_id: Binary(b"tx".to_vec()),
        outcome: Some(Box::new(DeliveryState::Accepted)),
    });
    assert_eq!(decode_one::<DeliveryState>(&enc(&ok)).unwrap(), ok);
    assert!(!ok.is_terminal());
}

#[test]
fn hostile_nesting_is_refused_without_recursion() {
    // 100 000 transactional-states, each the outcome of the one before:
    // refused at the second level, long before the stack could matter.
    let mut bytes = Vec::new();
    let depth = 100_000;
    for _ in 0..depth {
        // descriptor, list32 header (size patched below), txn-id ""
        bytes.extend_from_slice(&[0x00, 0x53, 0x34, 0xd0, 0, 0, 0, 0, 0, 0, 0, 2, 0xa0, 0x00]);
    }
    bytes.extend_from_slice(&[0x00, 0x53, 0x24, 0x45]);
    let total = bytes.len();
    for level in 0..depth {
        let at = level * 14;
        let size = (total - (at + 8)) as u32;
        bytes[at + 4..at + 8].copy_from_slice(&size.to_be_bytes());
    }
    assert!(DeliveryState::decode(&mut Decoder::new(&bytes)).is_err());
}

#[test]
fn delivery_state_names() {
    let all = [
        DeliveryState::Received(Received {
            section_number: 1,
            section_offset: 2,
        }),
        DeliveryState::Accepted,
        DeliveryState::Rejected(Rejected { error: None }),
        DeliveryState::Released,
        DeliveryState::Modified(Modified {
            delivery_failed: None,
            undeliverable_here: None,
            message_annotations: None,
        }),
        DeliveryState::Declared(Declared {
            txn_id: Binary(vec![1]),
        }),
        DeliveryState::TransactionalState(TransactionalState {
            txn_id: Binary(vec![1]),
            outcome: None,
        }),
    ];
    let terminal: Vec<bool> = all.iter().map(DeliveryState::is_terminal).collect();
    assert_eq!(terminal, [false, true, true, true, true, true, false]);
    for s in &all {
        assert_eq!(s.descriptor_name(), format!("amqp:{}:list", s.name()));
        let b = enc(s);
        assert_eq!(b[2] as u64, s.code());
    }
}

#[test]
fn performative_names() {
    let names: Vec<&str> = [
        Performative::from(Open {
            container_id: String::new(),
            hostname: None,
            max_frame_size: u32::MAX,
            channel_max: u16::MAX,
            idle_time_out: None,
            outgoing_locales: None,
            incoming_locales: None,
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        }),
        Performative::from(End { error: None }),
        Performative::from(Close { error: None }),
    ]
    .iter()
    .map(Performative::name)
    .collect();
    assert_eq!(names, ["open", "end", "close"]);
}

#[test]
fn conveniences() {
    let e = AmqpError::new(condition::NOT_FOUND, "no such queue");
    assert_eq!(e.condition.as_str(), "amqp:not-found");
    assert_eq!(e.description.as_deref(), Some("no such queue"));
    assert_eq!(e.to_string(), "amqp:not-found: no such queue");
    assert_eq!(
        AmqpError::from_condition(condition::FRAMING_ERROR).to_string(),
        "amqp:connection:framing-error"
    );
    assert_eq!(condition::DECODE_ERROR, "amqp:decode-error");
    assert_eq!(condition::LINK_REDIRECT, "amqp:link:redirect");
    assert_eq!(condition::REDIRECT, "amqp:connection:redirect");

    let s = Source::address("queue");
    assert_eq!(s.address.as_deref(), Some("queue"));
    assert_eq!(
        Source {
            address: None,
            ..s.clone()
        },
        Source::default()
    );
    // A source with only an address is just that one field on the wire.
    assert_eq!(split(&enc(&s)).1, 1);
    assert_eq!(enc(&Source::default()), [0x00, 0x53, 0x28, 0x45]);
    assert_eq!(enc(&Target::default()), [0x00, 0x53, 0x29, 0x45]);
    assert!(Source::dynamic().dynamic && Source::dynamic().address.is_none());
    assert_eq!(Target::address("q").address.as_deref(), Some("q"));
    assert!(Target::dynamic().dynamic);

    let c = Coordinator {
        capabilities: Some(Symbols(vec![Symbol::from(
            TxnCapability::LOCAL_TRANSACTIONS,
        )])),
    };
    let t = TargetKind::from(c.clone());
    assert_eq!(t.as_target(), None);
    assert_eq!(decode_one::<TargetKind>(&enc(&t)).unwrap(), t);
    assert_eq!(TxnCapability::LOCAL_TRANSACTIONS, "amqp:local-transactions");
}

#[test]
fn decoding_a_full_attach_needs_little_stack() {
    // The engine may decode on threads with small stacks: a maximal attach
    // (terminus, nested delivery states, maps) must round trip in 256 KiB
    // even in a debug build (it needs under 64 KiB today).
    let state = DeliveryState::TransactionalState(TransactionalState {
        txn_id: Binary(vec![1]),
        outcome: Some(Box::new(DeliveryState::Rejected(Rejected {
            error: Some(AmqpError::new(condition::NOT_ALLOWED, "no")),
        }))),
    });
    let m = Map(vec![(Value::sym("k"), Value::List(vec![Value::Uint(1)]))]);
    let attach = Performative::Attach(Attach {
        name: "n".into(),
        handle: 1,
        role: Role::Receiver,
        snd_settle_mode: SenderSettleMode::Settled,
        rcv_settle_mode: ReceiverSettleMode::Second,
        source: Some(Source {
            address: Some("a".into()),
            durable: TerminusDurability::Configuration,
            expiry_policy: TerminusExpiryPolicy::Never,
            timeout: 1,
            dynamic: true,
            dynamic_node_properties: Some(m.clone()),
            distribution_mode: Some(Symbol::from("move")),
            filter: Some(m.clone()),
            default_outcome: Some(state),
            outcomes: Some(Symbols(vec![Symbol::from(Accepted::NAME)])),
            capabilities: Some(Symbols(vec![Symbol::from("queue")])),
        }),
        target: Some(TargetKind::Target(Target::address("t"))),
        unsettled: Some(m.clone()),
        incomplete_unsettled: true,
        initial_delivery_count: Some(1),
        max_message_size: Some(1),
        offered_capabilities: Some(Symbols(vec![Symbol::from("x")])),
        desired_capabilities: Some(Symbols(vec![Symbol::from("y")])),
        properties: Some(m),
    });
    let ok = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || decode_performative(&enc(&attach)).unwrap() == attach)
        .unwrap()
        .join()
        .unwrap();
    assert!(ok);
}
