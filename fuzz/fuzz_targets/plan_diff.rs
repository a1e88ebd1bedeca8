//! `kgate diff` on two arbitrary object sets: a base and a head revision from one input
//! (`#> base/PATH` and `#> head/PATH` files; other paths and the text before the first marker
//! are in both), planned per GitOps unit and printed in every plan format.
#![no_main]

use kgate::discover::DiscoverOptions;
use kgate::plan::{plan, Revision};
use kgate::source::Files;
use kgate::vfs::MemFs;
use kgate::yaml::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (mut base_fs, mut head_fs) = (MemFs::new(), MemFs::new());
    for (path, contents) in kgate_fuzz::split_files(text, "app.yaml") {
        if let Some(p) = path.strip_prefix("base/") {
            base_fs.insert(p, contents);
        } else if let Some(p) = path.strip_prefix("head/") {
            head_fs.insert(p, contents);
        } else {
            base_fs.insert(&path, contents.clone());
            head_fs.insert(&path, contents);
        }
    }
    let files = Files::new();
    let opts = DiscoverOptions {
        excludes: Vec::new(),
        max_file_size: 1 << 20,
        ..DiscoverOptions::default()
    };
    let limits = Limits::default();
    let head = Revision::load(&files, &head_fs, &opts, &limits, &|_| false, None)
        .expect("an in-memory tree is always readable");
    let base = Revision::load(&files, &base_fs, &opts, &limits, &|_| false, Some(&head))
        .expect("an in-memory tree is always readable");
    let p = plan(&base, &head, "base", "head", &[String::new()]);
    let json = kgate::report::plan_json::render(&p);
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
        panic!("plan JSON does not parse ({e}):\n{json}");
    }
    let _ = kgate::report::plan_human::render(&p, false);
    let _ = kgate::report::plan_human::render(&p, true);
    let _ = kgate::report::plan_markdown::render(&p);
});
