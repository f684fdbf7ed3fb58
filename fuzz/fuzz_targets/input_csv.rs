//! Post input files as Csv: `yuqing_core::input::parse` (with `Format::sniff` and `decode_text`
//! on the same bytes), over raw bytes in any encoding. Checks: see `input_common.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yuqing_core::input::Format;

#[path = "input_common.rs"]
mod input_common;

fuzz_target!(|data: &[u8]| input_common::check(data, Format::Csv));
