//! One arbitrary document through the whole check pipeline (load, CRDs, schema registry,
//! schema check, Gatekeeper, exception annotations, redaction), without the built-in policies
//! (`--no-builtin-policies`; `rego_input` covers those), then through every report writer.
#![no_main]

use kgate::check::schema::SchemaCheckOptions;
use kgate::discover::DiscoverOptions;
use kgate::gather;
use kgate::load::Loaded;
use kgate::pipeline::{self, CheckOptions};
use kgate::schema::registry::RegistryOptions;
use kgate::source::Files;
use kgate::yaml::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut fs = kgate::vfs::MemFs::new();
    fs.insert("doc.yaml", data);
    let opts = CheckOptions {
        paths: vec![String::new()],
        discover: DiscoverOptions {
            excludes: Vec::new(),
            max_file_size: 1 << 20,
            ..DiscoverOptions::default()
        },
        limits: Limits::default(),
        registry: RegistryOptions {
            kubernetes_version: kgate::schema::bundle::DEFAULT_VERSION.to_string(),
            strict: true,
            schema_locations: Vec::new(),
            catalog: true,
        },
        schema: SchemaCheckOptions::default(),
        crds: Vec::new(),
        policy: kgate::policy::PolicyOptions {
            builtin: false,
            ..kgate::policy::PolicyOptions::default()
        },
        exceptions: kgate::exceptions::ExceptionOptions::default(),
        shard: None,
        render: None,
        changed: None,
        stream: false,
        every_unit: false,
    };
    let files = Files::new();
    let (loaded, count) = gather::load_vfs(
        &files,
        &fs,
        &opts.paths,
        &opts.discover,
        &opts.limits,
        &|_| false,
        false,
    )
    .expect("an in-memory tree is always readable");
    let outcome =
        pipeline::check_loaded_in(files, loaded, count, Loaded::default(), &opts, Some(&fs))
            .expect("the bundled schemas always load");
    kgate_fuzz::report_of(&outcome, kgate_fuzz::render_all);
});
