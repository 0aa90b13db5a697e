//! The AMQP 1.0 value model (types.bare.xml, spec §1.6).
//!
//! [`Value`] borrows strings, symbols and binaries from the decoded input
//! (`Cow::Borrowed`); [`Value::into_owned`] detaches it from the buffer.

use std::borrow::Cow;

/// A descriptor of a described type (§1.4): numeric or symbolic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Descriptor<'a> {
    /// A numeric descriptor: domain id in the high 32 bits, type id in the low.
    Code(u64),
    /// A symbolic descriptor such as `amqp:open:list`.
    Symbol(Cow<'a, str>),
}

impl Descriptor<'_> {
    /// Detach from the input buffer.
    pub fn into_owned(self) -> Descriptor<'static> {
        match self {
            Descriptor::Code(c) => Descriptor::Code(c),
            Descriptor::Symbol(s) => Descriptor::Symbol(Cow::Owned(s.into_owned())),
        }
    }
}

/// The AMQP type of a value, independent of its encoding. Arrays name the
/// type their elements share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeKind {
    /// null
    Null,
    /// boolean
    Bool,
    /// ubyte
    Ubyte,
    /// ushort
    Ushort,
    /// uint
    Uint,
    /// ulong
    Ulong,
    /// byte
    Byte,
    /// short
    Short,
    /// int
    Int,
    /// long
    Long,
    /// float
    Float,
    /// double
    Double,
    /// decimal32
    Decimal32,
    /// decimal64
    Decimal64,
    /// decimal128
    Decimal128,
    /// char
    Char,
    /// timestamp
    Timestamp,
    /// uuid
    Uuid,
    /// binary
    Binary,
    /// string
    String,
    /// symbol
    Symbol,
    /// list
    List,
    /// map
    Map,
    /// array
    Array,
    /// a described value (only as an array's element type when the
    /// descriptor is not shared; never produced by the decoder for arrays)
    Described,
}

impl TypeKind {
    /// The AMQP name of the type.
    pub fn name(self) -> &'static str {
        match self {
            TypeKind::Null => "null",
            TypeKind::Bool => "boolean",
            TypeKind::Ubyte => "ubyte",
            TypeKind::Ushort => "ushort",
            TypeKind::Uint => "uint",
            TypeKind::Ulong => "ulong",
            TypeKind::Byte => "byte",
            TypeKind::Short => "short",
            TypeKind::Int => "int",
            TypeKind::Long => "long",
            TypeKind::Float => "float",
            TypeKind::Double => "double",
            TypeKind::Decimal32 => "decimal32",
            TypeKind::Decimal64 => "decimal64",
            TypeKind::Decimal128 => "decimal128",
            TypeKind::Char => "char",
            TypeKind::Timestamp => "timestamp",
            TypeKind::Uuid => "uuid",
            TypeKind::Binary => "binary",
            TypeKind::String => "string",
            TypeKind::Symbol => "symbol",
            TypeKind::List => "list",
            TypeKind::Map => "map",
            TypeKind::Array => "array",
            TypeKind::Described => "described",
        }
    }
}

/// An array: elements that share one type and, optionally, one descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct Array<'a> {
    /// The descriptor every element carries, for arrays of described types.
    pub descriptor: Option<Descriptor<'a>>,
    /// The element type (of the undescribed value when `descriptor` is set).
    pub kind: TypeKind,
    /// The elements, each of `kind` (without the descriptor).
    pub items: Vec<Value<'a>>,
}

/// An AMQP 1.0 value of any type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// null
    Null,
    /// boolean
    Bool(bool),
    /// ubyte
    Ubyte(u8),
    /// ushort
    Ushort(u16),
    /// uint
    Uint(u32),
    /// ulong
    Ulong(u64),
    /// byte
    Byte(i8),
    /// short
    Short(i16),
    /// int
    Int(i32),
    /// long
    Long(i64),
    /// float
    Float(f32),
    /// double
    Double(f64),
    /// decimal32, kept as its IEEE 754 bytes (network order)
    Decimal32([u8; 4]),
    /// decimal64, kept as its IEEE 754 bytes (network order)
    Decimal64([u8; 8]),
    /// decimal128, kept as its IEEE 754 bytes (network order)
    Decimal128([u8; 16]),
    /// char: a Unicode scalar value
    Char(char),
    /// timestamp: milliseconds since the Unix epoch
    Timestamp(i64),
    /// uuid (RFC 4122 byte order)
    Uuid([u8; 16]),
    /// binary
    Binary(Cow<'a, [u8]>),
    /// string (UTF-8)
    String(Cow<'a, str>),
    /// symbol (ASCII)
    Symbol(Cow<'a, str>),
    /// list of values of any type
    List(Vec<Value<'a>>),
    /// map, as key/value pairs in wire order
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// array of values of one type
    Array(Array<'a>),
    /// a described value: descriptor and the value it describes
    Described(Box<(Descriptor<'a>, Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The AMQP type of this value.
    pub fn kind(&self) -> TypeKind {
        match self {
            Value::Null => TypeKind::Null,
            Value::Bool(_) => TypeKind::Bool,
            Value::Ubyte(_) => TypeKind::Ubyte,
            Value::Ushort(_) => TypeKind::Ushort,
            Value::Uint(_) => TypeKind::Uint,
            Value::Ulong(_) => TypeKind::Ulong,
            Value::Byte(_) => TypeKind::Byte,
            Value::Short(_) => TypeKind::Short,
            Value::Int(_) => TypeKind::Int,
            Value::Long(_) => TypeKind::Long,
            Value::Float(_) => TypeKind::Float,
            Value::Double(_) => TypeKind::Double,
            Value::Decimal32(_) => TypeKind::Decimal32,
            Value::Decimal64(_) => TypeKind::Decimal64,
            Value::Decimal128(_) => TypeKind::Decimal128,
            Value::Char(_) => TypeKind::Char,
            Value::Timestamp(_) => TypeKind::Timestamp,
            Value::Uuid(_) => TypeKind::Uuid,
            Value::Binary(_) => TypeKind::Binary,
            Value::String(_) => TypeKind::String,
            Value::Symbol(_) => TypeKind::Symbol,
            Value::List(_) => TypeKind::List,
            Value::Map(_) => TypeKind::Map,
            Value::Array(_) => TypeKind::Array,
            Value::Described(_) => TypeKind::Described,
        }
    }

    /// A string value (borrowed).
    pub fn str(s: &'a str) -> Self {
        Value::String(Cow::Borrowed(s))
    }

    /// A symbol value (borrowed). The caller keeps it ASCII.
    pub fn sym(s: &'a str) -> Self {
        Value::Symbol(Cow::Borrowed(s))
    }

    /// The string inside a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Detach from the input buffer, copying borrowed bytes.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(v) => Value::Bool(v),
            Value::Ubyte(v) => Value::Ubyte(v),
            Value::Ushort(v) => Value::Ushort(v),
            Value::Uint(v) => Value::Uint(v),
            Value::Ulong(v) => Value::Ulong(v),
            Value::Byte(v) => Value::Byte(v),
            Value::Short(v) => Value::Short(v),
            Value::Int(v) => Value::Int(v),
            Value::Long(v) => Value::Long(v),
            Value::Float(v) => Value::Float(v),
            Value::Double(v) => Value::Double(v),
            Value::Decimal32(v) => Value::Decimal32(v),
            Value::Decimal64(v) => Value::Decimal64(v),
            Value::Decimal128(v) => Value::Decimal128(v),
            Value::Char(v) => Value::Char(v),
            Value::Timestamp(v) => Value::Timestamp(v),
            Value::Uuid(v) => Value::Uuid(v),
            Value::Binary(v) => Value::Binary(Cow::Owned(v.into_owned())),
            Value::String(v) => Value::String(Cow::Owned(v.into_owned())),
            Value::Symbol(v) => Value::Symbol(Cow::Owned(v.into_owned())),
            Value::List(v) => Value::List(v.into_iter().map(Value::into_owned).collect()),
            Value::Map(v) => Value::Map(
                v.into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(Array {
                descriptor: a.descriptor.map(Descriptor::into_owned),
                kind: a.kind,
                items: a.items.into_iter().map(Value::into_owned).collect(),
            }),
            Value::Described(b) => {
                let (d, v) = *b;
                Value::Described(Box::new((d.into_owned(), v.into_owned())))
            }
        }
    }
}
