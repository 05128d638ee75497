//! Any bytes as one frame's payload: the decoder answers a request or an
//! error, never panics, and never builds more than the limits allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use throng_port::etf::EtfLimits;
use throng_port::proto::decode_request;

fuzz_target!(|payload: &[u8]| {
    let _ = decode_request(payload, EtfLimits::default());
});
