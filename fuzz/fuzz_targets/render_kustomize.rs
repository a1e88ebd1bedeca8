//! The native kustomize (and Flux) renderer on a kustomization plus a few files, all from one
//! input: the text before the first `#> PATH` line is `app/kustomization.yaml`.
#![no_main]

use kgate::discover::DiscoverOptions;
use kgate::render::RenderOptions;
use kgate::source::Files;
use kgate::yaml::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fs = kgate_fuzz::mem_fs(text, "app", "kustomization.yaml");
    let files = Files::new();
    let opts = DiscoverOptions {
        excludes: Vec::new(),
        max_file_size: 1 << 20,
        ..DiscoverOptions::default()
    };
    let Ok((loaded, _)) = kgate::gather::load_vfs(
        &files,
        &fs,
        &[String::new()],
        &opts,
        &Limits::default(),
        &|_| false,
        true,
    ) else {
        return;
    };
    let render = RenderOptions {
        max_file_size: 1 << 20,
        ..RenderOptions::default()
    };
    let out = kgate::render::integrate::render_vfs(&files, &fs, &loaded.manifests, &render);
    // What `kgate render` prints: the rendered objects as one YAML stream.
    let nodes: Vec<&kgate::yaml::Node> = out.manifests.iter().map(|m| &m.node).collect();
    let _ = kgate::render::emit::to_yaml_stream(&nodes);
    let _ = kgate::render::integrate::attribute_and_merge(&files, out.diagnostics);
});
