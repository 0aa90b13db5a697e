//! Protocol headers and frames (spec §2.2 and §2.3): the outermost layer of
//! the wire format, below performatives.
//!
//! Reading is incremental and zero-copy: [`parse_frame`] looks at whatever
//! bytes have arrived, says "not yet" until a whole frame is there, and then
//! hands back a [`Frame`] whose body borrows the input. A frame header that
//! can never become valid (an oversized or undersized frame, a bad data
//! offset, an unknown type) is reported as soon as the bytes that prove it
//! have arrived, so a hostile peer cannot make us buffer a frame we will
//! refuse anyway.
//!
//! Writing appends to the caller's output buffer: [`begin_frame`] reserves
//! the 8-byte header, the caller encodes the performative and payload
//! straight after it, and [`end_frame`] fills in the size. Nothing is copied.

use thiserror::Error;

/// The protocol header that starts plain AMQP 1.0.0 (§2.2): `"AMQP" 0 1 0 0`.
pub const AMQP_HEADER: [u8; 8] = *b"AMQP\x00\x01\x00\x00";

/// The protocol header that asks for a TLS upgrade before AMQP (§5.2.1):
/// `"AMQP" 2 1 0 0`.
pub const TLS_HEADER: [u8; 8] = *b"AMQP\x02\x01\x00\x00";

/// The protocol header that starts the SASL layer (§5.3.1): `"AMQP" 3 1 0 0`.
pub const SASL_HEADER: [u8; 8] = *b"AMQP\x03\x01\x00\x00";

/// Frame type of AMQP frames (§2.3.2): the type-specific header bytes hold
/// the channel number.
pub const FRAME_TYPE_AMQP: u8 = 0;

/// Frame type of SASL frames (§5.3.1): the type-specific header bytes are
/// ignored.
pub const FRAME_TYPE_SASL: u8 = 1;

/// The largest frame every peer must accept before `open` has negotiated a
/// limit, and the smallest `max-frame-size` a peer may announce (§2.4.1,
/// §2.7.1); also the fixed limit for SASL frames (§5.3.1).
pub const MIN_MAX_FRAME_SIZE: u32 = 512;

/// Length of the fixed frame header (§2.3.1): size, data offset, type and
/// the two type-specific bytes.
pub const FRAME_HEADER_SIZE: usize = 8;

/// Which protocol a protocol header (§2.2) announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolHeader {
    /// Protocol id 0: AMQP frames follow ([`AMQP_HEADER`], §2.2).
    Amqp,
    /// Protocol id 3: SASL frames follow ([`SASL_HEADER`], §5.3.1).
    Sasl,
    /// Protocol id 2: a TLS handshake follows ([`TLS_HEADER`], §5.2.1).
    Tls,
}

impl ProtocolHeader {
    /// Reads a protocol header (§2.2) from the first 8 bytes of `bytes`:
    /// `"AMQP"`, a protocol id of 0, 2 or 3, and version 1.0.0. Bytes after
    /// the eighth are not looked at (they belong to what follows the header).
    ///
    /// Anything else, including input shorter than 8 bytes (the missing
    /// bytes then show as zero), is [`FrameError::BadProtocolHeader`]; the
    /// caller is expected to wait for 8 bytes before asking.
    pub fn parse(bytes: &[u8]) -> Result<ProtocolHeader, FrameError> {
        let mut got = [0u8; 8];
        let n = bytes.len().min(8);
        got[..n].copy_from_slice(&bytes[..n]);
        if n < 8 {
            return Err(FrameError::BadProtocolHeader(got));
        }
        match got {
            AMQP_HEADER => Ok(ProtocolHeader::Amqp),
            SASL_HEADER => Ok(ProtocolHeader::Sasl),
            TLS_HEADER => Ok(ProtocolHeader::Tls),
            _ => Err(FrameError::BadProtocolHeader(got)),
        }
    }

    /// The 8 bytes of this header (§2.2), as they go on the wire.
    pub fn as_bytes(&self) -> &'static [u8; 8] {
        match self {
            ProtocolHeader::Amqp => &AMQP_HEADER,
            ProtocolHeader::Sasl => &SASL_HEADER,
            ProtocolHeader::Tls => &TLS_HEADER,
        }
    }

    /// The protocol id byte (§2.2): 0 AMQP, 2 TLS, 3 SASL.
    pub fn protocol_id(&self) -> u8 {
        self.as_bytes()[4]
    }
}

/// One frame read from the wire (§2.3.1), borrowing its body from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// [`FRAME_TYPE_AMQP`] or [`FRAME_TYPE_SASL`] (§2.3.1, byte 5).
    pub frame_type: u8,
    /// Bytes 6–7: the channel of an AMQP frame (§2.3.2). SASL frames carry
    /// no channel (§5.3.1); whatever the peer put there is passed on.
    pub channel: u16,
    /// What follows the extended header: one performative and, for a
    /// transfer, its payload (§2.3.2). Empty for an empty frame, which only
    /// keeps the connection alive (§2.4.5).
    pub body: &'a [u8],
}

impl Frame<'_> {
    /// True for an empty frame (§2.3.2): a heartbeat with no performative.
    pub fn is_heartbeat(&self) -> bool {
        self.body.is_empty()
    }
}

/// Why bytes cannot be a protocol header or frame (§2.2, §2.3). Each of
/// these calls for closing the connection with `amqp:connection:framing-error`
/// (SEMANTICS.md §3), except a bad protocol header, which is answered with
/// our own header and a close of the socket (§2.2).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// Not `"AMQP"` with protocol id 0, 2 or 3 and version 1.0.0 (§2.2).
    #[error(
        "bad protocol header {} (expected \"AMQP\", protocol id 0, 2 or 3, version 1.0.0)",
        show_header(.0)
    )]
    BadProtocolHeader([u8; 8]),
    /// The frame's SIZE is more than this endpoint accepts (§2.3.1, §2.7.1
    /// `max-frame-size`).
    #[error("frame of {size} bytes exceeds the maximum frame size of {max} bytes")]
    TooLarge {
        /// The frame's declared SIZE.
        size: u32,
        /// The largest frame accepted.
        max: u32,
    },
    /// The frame's SIZE is smaller than the 8-byte frame header (§2.3.1).
    #[error("frame size {size} is smaller than the 8-byte frame header")]
    InvalidSize {
        /// The frame's declared SIZE.
        size: u32,
    },
    /// DOFF is below 2, or points past the end of the frame (§2.3.1).
    #[error(
        "data offset {doff} ({} bytes) is invalid for a frame of {size} bytes (it must be at least 2 and within the frame)",
        u32::from(*doff) * 4
    )]
    InvalidDataOffset {
        /// The DOFF byte, in 4-byte words.
        doff: u8,
        /// The frame's declared SIZE.
        size: u32,
    },
    /// TYPE is neither AMQP (0) nor SASL (1) (§2.3.1).
    #[error("unknown frame type 0x{frame_type:02x}")]
    UnknownType {
        /// The TYPE byte.
        frame_type: u8,
    },
}

/// Shows header bytes in hex, with their printable ASCII, so that a peer
/// speaking another protocol (`HTTP/1.1`, TLS `16 03 01`, AMQP 0-9-1) is
/// recognisable in the message.
fn show_header(b: &[u8; 8]) -> String {
    let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    let text: String = b
        .iter()
        .map(|&x| {
            if x.is_ascii_graphic() || x == b' ' {
                char::from(x)
            } else {
                '.'
            }
        })
        .collect();
    format!("{} (\"{text}\")", hex.join(" "))
}

/// Reads one frame (§2.3.1) from the start of `buf`.
///
/// Returns `Ok(None)` while `buf` holds less than a whole frame, and
/// `Ok(Some((frame, consumed)))` once it holds one, where `consumed` is the
/// frame's SIZE: drop that many bytes before the next call. The extended
/// header (bytes 8 to 4·DOFF) is skipped, as both frame types require.
///
/// The header is checked as soon as the bytes that decide each check are
/// there, before the rest of the frame is waited for: SIZE (bytes 0–3)
/// against 8 ([`FrameError::InvalidSize`]) and `max_frame_size`, the largest
/// frame this endpoint accepts ([`FrameError::TooLarge`]); DOFF (byte 4)
/// against 2 and SIZE ([`FrameError::InvalidDataOffset`]); TYPE (byte 5)
/// ([`FrameError::UnknownType`]).
pub fn parse_frame(
    buf: &[u8],
    max_frame_size: u32,
) -> Result<Option<(Frame<'_>, usize)>, FrameError> {
    let Some(size_bytes) = buf.get(..4) else {
        return Ok(None);
    };
    let size = u32::from_be_bytes([size_bytes[0], size_bytes[1], size_bytes[2], size_bytes[3]]);
    if size < FRAME_HEADER_SIZE as u32 {
        return Err(FrameError::InvalidSize { size });
    }
    if size > max_frame_size {
        return Err(FrameError::TooLarge {
            size,
            max: max_frame_size,
        });
    }
    let Some(&doff) = buf.get(4) else {
        return Ok(None);
    };
    if doff < 2 || u32::from(doff) * 4 > size {
        return Err(FrameError::InvalidDataOffset { doff, size });
    }
    let Some(&frame_type) = buf.get(5) else {
        return Ok(None);
    };
    if frame_type != FRAME_TYPE_AMQP && frame_type != FRAME_TYPE_SASL {
        return Err(FrameError::UnknownType { frame_type });
    }
    let Ok(size) = usize::try_from(size) else {
        // Only on targets whose usize is narrower than 32 bits, where such
        // a frame could never be buffered anyway.
        return Err(FrameError::TooLarge {
            size,
            max: max_frame_size,
        });
    };
    let Some(frame) = buf.get(..size) else {
        return Ok(None);
    };
    let channel = u16::from_be_bytes([frame[6], frame[7]]);
    let body = &frame[usize::from(doff) * 4..];
    Ok(Some((
        Frame {
            frame_type,
            channel,
            body,
        },
        size,
    )))
}

/// Where a frame (§2.3.1) begun with [`begin_frame`] starts in the output
/// buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a frame begun must be completed with end_frame"]
pub struct FrameMark {
    start: usize,
}

impl FrameMark {
    /// Offset of the frame's first byte (its SIZE, §2.3.1) in the output
    /// buffer.
    pub fn start(&self) -> usize {
        self.start
    }

    /// The frame's size so far, header included, given the buffer it is
    /// being written into: what SIZE would be if the frame ended now. Lets
    /// a writer check `max-frame-size` (§2.7.1) while filling a frame, for
    /// instance to decide how much transfer payload still fits.
    pub fn frame_len(&self, out: &[u8]) -> usize {
        out.len().saturating_sub(self.start)
    }
}

/// Begins a frame (§2.3.1) at the end of `out`: appends an 8-byte header
/// with DOFF 2 (no extended header), `frame_type` and `channel`, leaving
/// SIZE to [`end_frame`]. Encode the performative and payload into `out`
/// next. For SASL frames pass channel 0 (§5.3.1).
pub fn begin_frame(out: &mut Vec<u8>, frame_type: u8, channel: u16) -> FrameMark {
    let start = out.len();
    let [c0, c1] = channel.to_be_bytes();
    out.extend_from_slice(&[0, 0, 0, 0, 2, frame_type, c0, c1]);
    FrameMark { start }
}

/// Completes the frame begun at `mark`: writes its SIZE, which covers
/// everything appended to `out` since [`begin_frame`] (§2.3.1).
///
/// The caller keeps frames within the peer's `max-frame-size`, which is at
/// most `u32::MAX`; a larger frame cannot be expressed and gets SIZE
/// `u32::MAX`. If `out` was cut back below the mark's header, nothing is
/// written.
// Takes the Vec, not a slice, to pair with `begin_frame` for callers.
#[allow(clippy::ptr_arg)]
pub fn end_frame(out: &mut Vec<u8>, mark: FrameMark) {
    let len = mark.frame_len(out);
    let size = u32::try_from(len).unwrap_or(u32::MAX);
    if let Some(header) = out.get_mut(mark.start..mark.start + 4)
        && len >= FRAME_HEADER_SIZE
    {
        header.copy_from_slice(&size.to_be_bytes());
    }
}

/// Appends an empty AMQP frame on channel 0 (§2.3.2): the 8-byte heartbeat
/// that keeps an idle connection alive (§2.4.5).
pub fn write_empty_frame(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0, 0, 0, 8, 2, FRAME_TYPE_AMQP, 0, 0]);
}
