//! The sans-IO AMQP 1.0 protocol engine (filled in by the engine issue).
#![forbid(unsafe_code)]
