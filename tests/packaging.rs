//! Packaging: what `scripts/install` puts into a prefix, used the way a
//! user would, from outside the repository. The install (once per run of
//! this test binary, into `target/tmp/packaging/`) must give the versioned
//! shared library with its SONAME and links, the static library, the
//! header, a pkg-config file and a CMake package; programs built against
//! them with CMake (C, C++, shared and static) and pkg-config must run and
//! use the installed library; the installed examples must build with the
//! Makefile and CMakeLists.txt that come with them; docs/first-program.md's
//! program must build both ways and talk to the example broker. Also: the
//! header compiles without a warning as C11 and C++17 under gcc and clang.
//!
//! Needs cmake, pkg-config, gcc, g++, clang and make (`.ci/run` installs
//! them). Programs run without the `LD_LIBRARY_PATH` cargo sets, as in a
//! user's shell, so that they find libmuon the way they were built to.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::program::{Program, refused_port};
use common::{lib_dir, manifest_dir, soname};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The SONAME the library must carry (the rule of build.rs): before 1.0 a
/// minor version may break the ABI, so `libmuon.so.0.MINOR`; from 1.0,
/// `libmuon.so.MAJOR`.
fn expected_soname() -> String {
    match env!("CARGO_PKG_VERSION_MAJOR") {
        "0" => format!("libmuon.so.0.{}", env!("CARGO_PKG_VERSION_MINOR")),
        major => format!("libmuon.so.{major}"),
    }
}

/// `MAJOR.MINOR`, what a consumer asks of find_package.
fn series() -> String {
    format!(
        "{}.{}",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    )
}

/// This test binary's scratch directory, `target/tmp/packaging/NAME`,
/// emptied.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("packaging")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("can create a scratch directory");
    dir
}

/// Runs `cmd`; panics with `what` and its output unless it succeeds.
fn run(mut cmd: Command, what: &str) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {:?}: {e}", cmd.get_program()));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command as a user's shell would run it: without the LD_LIBRARY_PATH
/// cargo gives tests (it lists the build tree, where another libmuon is).
fn user_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd
}

/// `scripts/install PREFIX`, with DESTDIR if given.
fn install(prefix: &Path, destdir: Option<&Path>) {
    let mut cmd = Command::new(manifest_dir().join("scripts/install"));
    cmd.arg(prefix);
    match destdir {
        Some(d) => cmd.env("DESTDIR", d),
        None => cmd.env_remove("DESTDIR"),
    };
    run(cmd, "scripts/install");
}

/// The prefix muon is installed into, once for this test binary.
fn prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let prefix = scratch("install").join("prefix");
        install(&prefix, None);
        prefix
    })
}

/// Configures and builds the CMake project `src` in `build` with muon found
/// under `prefix`; `defs` are further -D definitions.
fn cmake_build(src: &Path, build: &Path, prefix: &Path, defs: &[String]) {
    let mut cmd = Command::new("cmake");
    cmd.arg("-S")
        .arg(src)
        .arg("-B")
        .arg(build)
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()))
        .args(defs);
    run(cmd, &format!("cmake configure of {}", src.display()));
    let mut cmd = Command::new("cmake");
    cmd.arg("--build").arg(build);
    run(cmd, &format!("cmake build of {}", src.display()));
}

/// Runs `exe` with `args` (user environment); asserts exit 0 and returns
/// stdout.
fn run_user(exe: &Path, args: &[&str]) -> String {
    let mut cmd = user_command(exe);
    cmd.args(args);
    stdout(&run(cmd, &exe.display().to_string()))
}

/// The libmuon `exe` loads, as `ldd` resolves it (None: it needs none).
fn ldd_muon(exe: &Path) -> Option<String> {
    let mut cmd = user_command("ldd");
    cmd.arg(exe);
    let out = stdout(&run(cmd, &format!("ldd {}", exe.display())));
    out.lines()
        .find(|l| l.contains("libmuon"))
        .map(|l| l.trim().to_string())
}

/// The DT_NEEDED entries of `exe`.
fn needed(exe: &Path) -> Vec<String> {
    let mut cmd = Command::new("readelf");
    cmd.arg("-d").arg(exe);
    stdout(&run(cmd, "readelf -d"))
        .lines()
        .filter_map(|l| {
            let rest = l.split("Shared library: [").nth(1)?;
            Some(rest.split(']').next()?.to_string())
        })
        .collect()
}

/// Asserts that `exe` loads the shared library installed under `prefix`,
/// by its SONAME.
fn assert_uses_installed_library(exe: &Path, prefix: &Path) {
    let line = ldd_muon(exe).unwrap_or_else(|| panic!("{} loads no libmuon", exe.display()));
    let want = format!(
        "{} => {}",
        expected_soname(),
        prefix.join("lib").join(expected_soname()).display()
    );
    assert!(
        line.starts_with(&want),
        "{}: ldd says {line:?}, not {want:?}",
        exe.display()
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("can create a directory");
    for e in std::fs::read_dir(from).expect("a readable directory") {
        let e = e.expect("a directory entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("can copy a file");
    }
}

// ---- the installed files ------------------------------------------------------------------

#[test]
fn install_gives_versioned_library_header_and_package_files() {
    let prefix = prefix();
    let lib = prefix.join("lib");
    let real = format!("libmuon.so.{VERSION}");
    let want = expected_soname();

    let meta = std::fs::symlink_metadata(lib.join(&real)).expect("libmuon.so.VERSION installed");
    assert!(meta.file_type().is_file(), "{real} is the file itself");
    assert_eq!(
        soname(&lib.join(&real)).as_deref(),
        Some(want.as_str()),
        "the installed library's SONAME"
    );
    assert_eq!(
        soname(&lib_dir().join("libmuon.so")).as_deref(),
        Some(want.as_str()),
        "the SONAME build.rs gives every build"
    );
    assert_eq!(
        std::fs::read_link(lib.join(&want)).expect("the SONAME link"),
        Path::new(&real)
    );
    assert_eq!(
        std::fs::read_link(lib.join("libmuon.so")).expect("the development link"),
        Path::new(&want)
    );
    for f in [
        "lib/libmuon.a",
        "include/muon.h",
        "lib/pkgconfig/muon.pc",
        "lib/cmake/muon/muonConfig.cmake",
        "lib/cmake/muon/muonConfigVersion.cmake",
        "share/muon/examples/Makefile",
        "share/muon/examples/CMakeLists.txt",
        "share/muon/examples/README.md",
        "share/muon/examples/helloworld.c",
        "share/muon/examples/common.h",
        "share/doc/muon/LICENSE",
    ] {
        assert!(prefix.join(f).is_file(), "{f} was not installed");
    }
    assert_eq!(
        prefix.join("include/muon.hpp").exists(),
        manifest_dir().join("include/muon.hpp").exists(),
        "include/muon.hpp is installed when there is one"
    );
    assert_eq!(
        std::fs::read(prefix.join("include/muon.h")).expect("installed header"),
        std::fs::read(manifest_dir().join("include/muon.h")).expect("committed header")
    );
    // No template field left unfilled.
    for f in [
        "lib/pkgconfig/muon.pc",
        "lib/cmake/muon/muonConfig.cmake",
        "lib/cmake/muon/muonConfigVersion.cmake",
    ] {
        let text = std::fs::read_to_string(prefix.join(f)).expect("readable");
        // Every stretch between two '@'s that looks like a field name.
        let parts: Vec<&str> = text.split('@').collect();
        let unfilled = parts
            .iter()
            .skip(1)
            .take(parts.len().saturating_sub(2))
            .any(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        assert!(!unfilled, "{f} has an unfilled @FIELD@:\n{text}");
    }
}

// ---- CMake --------------------------------------------------------------------------------

/// C and C++ programs linked to muon::muon, and a C program linked to
/// muon::muon_static, built with find_package against the install; each
/// listens, connects to itself and sends one message.
#[test]
fn cmake_consumer_builds_and_runs_c_cpp_and_static() {
    let prefix = prefix();
    let build = scratch("cmake-consumer");
    cmake_build(
        &manifest_dir().join("tests/packaging/consumer"),
        &build,
        prefix,
        &[format!("-DMUON_WANT={}", series())],
    );
    for (exe, text) in [
        ("hello_c", "Hello from C"),
        ("hello_cpp", "Hello from C++"),
        ("hello_static", "Hello from the static library"),
    ] {
        assert_eq!(run_user(&build.join(exe), &[text]), format!("{text}\n"));
    }
    for exe in ["hello_c", "hello_cpp"] {
        assert_uses_installed_library(&build.join(exe), prefix);
    }
    let static_exe = build.join("hello_static");
    assert_eq!(ldd_muon(&static_exe), None, "hello_static loads a libmuon");
    assert!(
        !needed(&static_exe).iter().any(|n| n.contains("muon")),
        "hello_static needs {:?}",
        needed(&static_exe)
    );
}

/// muon::muon_static needs nothing of the shared library: against a copy of
/// the install with every libmuon.so* removed, it still configures, links
/// and runs (and muon::muon is simply not defined).
#[test]
fn static_target_links_without_the_shared_library() {
    let root = scratch("static-only");
    let copy = root.join("prefix");
    let mut cmd = Command::new("cp");
    cmd.arg("-a").arg(prefix()).arg(&copy);
    run(cmd, "copying the install");
    for e in std::fs::read_dir(copy.join("lib")).expect("lib/") {
        let e = e.expect("an entry");
        if e.file_name().to_string_lossy().starts_with("libmuon.so") {
            std::fs::remove_file(e.path()).expect("can remove");
        }
    }
    let build = root.join("build");
    cmake_build(
        &manifest_dir().join("tests/packaging/consumer"),
        &build,
        &copy,
        &["-DSTATIC_ONLY=ON".to_string()],
    );
    let exe = build.join("hello_static");
    assert_eq!(run_user(&exe, &["static only"]), "static only\n");
    assert!(!needed(&exe).iter().any(|n| n.contains("muon")));
}

/// The version file: the same major.minor (before 1.0) at or below the
/// installed version is compatible, anything else is not.
#[test]
fn cmake_version_file_accepts_the_compatible_versions_only() {
    let root = scratch("cmake-versions");
    let major: u32 = env!("CARGO_PKG_VERSION_MAJOR").parse().expect("a number");
    let minor: u32 = env!("CARGO_PKG_VERSION_MINOR").parse().expect("a number");
    let mut cases = vec![
        (series(), true),
        (VERSION.to_string(), true),
        (format!("{major}.{}", minor + 1), false),
        (format!("{}.0", major + 1), false),
        (format!("{}...{}.0", series(), major + 1), true),
        (format!("{major}.{}...{}.0", minor + 1, major + 2), false),
    ];
    if major == 0 && minor > 0 {
        cases.push((format!("0.{}", minor - 1), false)); // an older 0.x series
    }
    let mut script = String::from("cmake_minimum_required(VERSION 3.19)\nproject(v C)\n");
    for (i, (want, _)) in cases.iter().enumerate() {
        script += &format!(
            "unset(muon_DIR CACHE)\nfind_package(muon {want} QUIET)\n\
             message(STATUS \"case {i}: ${{muon_FOUND}}\")\n"
        );
    }
    std::fs::write(root.join("CMakeLists.txt"), script).expect("can write");
    let mut cmd = Command::new("cmake");
    cmd.arg("-S")
        .arg(&root)
        .arg("-B")
        .arg(root.join("build"))
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix().display()));
    let out = stdout(&run(cmd, "cmake configure"));
    for (i, (want, ok)) in cases.iter().enumerate() {
        let line = format!("-- case {i}: {}", if *ok { "1" } else { "0" });
        assert!(
            out.lines().any(|l| l == line),
            "find_package(muon {want}) should {}succeed:\n{out}",
            if *ok { "" } else { "not " }
        );
    }
}

// ---- pkg-config ---------------------------------------------------------------------------

#[test]
fn pkg_config_consumer_builds_and_runs_against_the_installed_library() {
    let prefix = prefix();
    let dir = scratch("pkg-config");
    let pc_path = prefix.join("lib/pkgconfig");
    let mut cmd = Command::new("pkg-config");
    cmd.args(["--modversion", "muon"])
        .env("PKG_CONFIG_PATH", &pc_path);
    assert_eq!(stdout(&run(cmd, "pkg-config --modversion")).trim(), VERSION);

    std::fs::copy(
        manifest_dir().join("tests/packaging/consumer/hello.c"),
        dir.join("hello.c"),
    )
    .expect("copy");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "{cc} -std=c11 -Wall -Wextra -Werror -pedantic -o hello hello.c \
             $(pkg-config --cflags --libs muon)"
        ))
        .current_dir(&dir)
        .env("PKG_CONFIG_PATH", &pc_path);
    run(cmd, "building with pkg-config");
    let exe = dir.join("hello");
    assert_eq!(run_user(&exe, &["via pkg-config"]), "via pkg-config\n");
    assert_uses_installed_library(&exe, prefix);
}

// ---- staged installs ----------------------------------------------------------------------

/// DESTDIR stages the files under DESTDIR/PREFIX while they name PREFIX;
/// the CMake package finds its files relative to itself, so the staged
/// tree is usable where it is.
#[test]
fn destdir_stages_the_install_and_the_cmake_package_is_relocatable() {
    let root = scratch("destdir");
    let stage = root.join("stage");
    let named = Path::new("/opt/muon-packaging-test");
    install(named, Some(&stage));
    assert!(
        !named.exists(),
        "DESTDIR was ignored: {} exists",
        named.display()
    );
    let staged = stage.join(named.strip_prefix("/").expect("absolute"));
    let pc = std::fs::read_to_string(staged.join("lib/pkgconfig/muon.pc")).expect("muon.pc staged");
    assert!(
        pc.lines()
            .any(|l| l == format!("prefix={}", named.display())),
        "muon.pc names the final prefix:\n{pc}"
    );
    assert!(
        !pc.contains(&stage.display().to_string()),
        "muon.pc names the stage:\n{pc}"
    );

    let build = root.join("build");
    cmake_build(
        &manifest_dir().join("tests/packaging/consumer"),
        &build,
        &staged,
        &["-DSTATIC_ONLY=ON".to_string()],
    );
    assert_eq!(
        run_user(&build.join("hello_static"), &["staged"]),
        "staged\n"
    );
}

// ---- the installed examples ---------------------------------------------------------------

/// The installed examples come with a Makefile (pkg-config) and a
/// CMakeLists.txt (find_package): both build every example, and the
/// programs run.
#[test]
fn installed_examples_build_with_their_makefile_and_cmakelists() {
    let prefix = prefix();
    let root = scratch("examples");
    let examples = prefix.join("share/muon/examples");

    let with_make = root.join("make");
    copy_dir(&examples, &with_make);
    let mut cmd = Command::new("make");
    cmd.current_dir(&with_make)
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .env("CFLAGS", "-std=c11 -Wall -Wextra -Werror -pedantic");
    run(cmd, "make in the installed examples");

    let with_cmake = root.join("cmake");
    cmake_build(
        &examples,
        &with_cmake,
        prefix,
        &["-DMUON_STATIC=ON".to_string()],
    );

    for (dir, shared) in [(&with_make, true), (&with_cmake, false)] {
        for program in [
            "broker",
            "client",
            "helloworld",
            "helloworld_direct",
            "server",
            "simple_recv",
            "simple_send",
        ] {
            assert!(
                dir.join(program).is_file(),
                "{program} not built in {}",
                dir.display()
            );
        }
        let exe = dir.join("helloworld_direct");
        let out = run_user(&exe, &["-a", "localhost:0/examples"]);
        assert!(
            out.starts_with("listening on ") && out.ends_with("\nHello World!\n"),
            "{}: {out:?}",
            exe.display()
        );
        if shared {
            assert_uses_installed_library(&exe, prefix);
        } else {
            assert_eq!(ldd_muon(&exe), None);
        }
    }
}

// ---- docs/first-program.md ----------------------------------------------------------------

/// The first fenced block of `lang` in docs/first-program.md.
fn guide_block(lang: &str) -> String {
    let guide = std::fs::read_to_string(manifest_dir().join("docs/first-program.md"))
        .expect("docs/first-program.md");
    let start = guide
        .find(&format!("```{lang}\n"))
        .unwrap_or_else(|| panic!("the guide has a {lang} block"))
        + lang.len()
        + 4;
    let len = guide[start..].find("```\n").expect("the block ends");
    guide[start..start + len].to_string()
}

/// The guide's program, built with pkg-config and with the guide's
/// CMakeLists.txt, sends "Hello World!" through the example broker (built
/// from the installed examples) and prints it; without a broker it says
/// why and exits 1.
#[test]
fn first_program_guide_builds_both_ways_and_talks_to_the_example_broker() {
    let prefix = prefix();
    let root = scratch("first-program");
    let src = root.join("src");
    std::fs::create_dir_all(&src).expect("a directory");
    let program = guide_block("c");
    assert!(
        program.lines().count() <= 50,
        "the guide's program has grown to {} lines",
        program.lines().count()
    );
    std::fs::write(src.join("hello.c"), program).expect("write hello.c");
    std::fs::write(src.join("CMakeLists.txt"), guide_block("cmake")).expect("write");

    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "{cc} -std=c11 -Wall -Wextra -Werror -pedantic -o hello hello.c \
             $(pkg-config --cflags --libs muon)"
        ))
        .current_dir(&src)
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"));
    run(cmd, "building the guide's program with pkg-config");
    let build = root.join("build");
    cmake_build(&src, &build, prefix, &[]);

    // The example broker, from the installed examples.
    let examples = root.join("examples");
    copy_dir(&prefix.join("share/muon/examples"), &examples);
    let mut cmd = Command::new("make");
    cmd.arg("broker")
        .current_dir(&examples)
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"));
    run(cmd, "make broker");
    let broker = Program::start_env(
        &examples.join("broker"),
        &["-a", "localhost:0"],
        &[("LD_LIBRARY_PATH", "")],
    );
    let port = broker.wait_line("listening on ", RUN_LIMIT)["listening on ".len()..].to_string();
    let url = format!("localhost:{port}");
    for exe in [src.join("hello"), build.join("hello")] {
        assert_eq!(
            run_user(&exe, &[&url]),
            "Hello World!\n",
            "{}",
            exe.display()
        );
        assert_uses_installed_library(&exe, prefix);
    }
    broker.signal(libc::SIGINT);
    let (status, _, err) = broker.wait(RUN_LIMIT);
    assert!(status.success(), "the broker did not stop cleanly:\n{err}");

    // No broker: a message and status 1 (nothing can listen on the port
    // while `dead` is kept).
    let dead = refused_port();
    let out = user_command(src.join("hello"))
        .arg(format!("localhost:{}", dead.port))
        .output()
        .expect("hello runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(
        err.starts_with("hello: ") && err.contains("refused"),
        "{err}"
    );
}

// ---- the header under strict warnings -----------------------------------------------------

/// tests/packaging/handler_init.c (MUON_HANDLER_INIT as a local, a static
/// and a member) compiles with -Wall -Wextra -Werror -pedantic as C11 and as
/// C++17 under gcc and clang, links to libmuon.a and runs.
#[test]
fn header_compiles_warning_free_as_c11_and_cxx17_under_gcc_and_clang() {
    let dir = scratch("strict-header");
    let src = manifest_dir().join("tests/packaging/handler_init.c");
    for (driver, lang, std_flag, language) in [
        ("gcc", "c", "-std=c11", "C"),
        ("g++", "c++", "-std=c++17", "C++"),
        ("clang", "c", "-std=c11", "C"),
        ("clang++", "c++", "-std=c++17", "C++"),
    ] {
        let exe = dir.join(format!("handler_init-{driver}"));
        let mut cmd = Command::new(driver);
        cmd.args([
            "-x",
            lang,
            std_flag,
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
        ])
        .arg(format!("-I{}", manifest_dir().join("include").display()))
        .arg(&src)
        .args(["-x", "none"])
        .arg(lib_dir().join("libmuon.a"))
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe);
        run(cmd, &format!("{driver} {std_flag} on handler_init.c"));
        assert_eq!(
            run_user(&exe, &[]),
            format!("MUON_HANDLER_INIT ok in {language}\n"),
            "{driver}"
        );
    }
}
