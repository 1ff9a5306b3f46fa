//! Any text: parsing and executing it ends with a result or an error, never a panic or a hang.
#![no_main]

use convoy_helm::Value;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    // With Sprig's and Helm's functions, as charts are rendered.
    let mut set = convoy_helm::engine::new_set();
    if set.add("fuzz", text).is_ok() {
        let data = Value::map([("Values", Value::map([("a", Value::Int(1)), ("list", Value::List(vec![Value::Nil]))]))]);
        let _ = set.execute("fuzz", &data);
    }
});
