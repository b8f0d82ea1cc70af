/**
 * Checks that the command-line tool compiles into one binary and that the binary runs:
 * `deno compile -A --output <tmp>/wirestream cli.ts`, then `<tmp>/wirestream --help` and
 * `--version`, then the temporary directory is removed.
 *
 * ```sh
 * deno run -A tools/check_cli_compile.ts            # CI's "compile" step
 * deno run -A tools/check_cli_compile.ts --strict   # no fallback: fail where the runtime is missing
 * ```
 *
 * `deno compile` builds on Deno's runtime binary (denort), which it downloads from Deno's
 * release server the first time, or takes from the `DENORT_BIN` environment variable. Where it
 * can do neither (no network and no `DENORT_BIN`), the check says so and checks what it still
 * can: the compile itself (module graph, type check, embedding) against the `deno` binary as the
 * base. That result is only `deno` again, so `--help` is not run, and the output says
 * `SKIPPED: --help`. With `--strict` that case fails instead.
 *
 * @module
 */

const ENTRY = "cli.ts";
const decoder = new TextDecoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Whether a failed compile failed only for want of the runtime binary. */
function runtimeUnavailable(stderr: string): boolean {
  return /denort|Setting up base binary/i.test(stderr);
}

async function main(): Promise<number> {
  const strict = Deno.args.includes("--strict");
  const dir = await Deno.makeTempDir({ prefix: "wirestream-compile-" });
  const binary = `${dir}/wirestream`;
  const compileArgs = ["compile", "-A", "--output", binary, ENTRY];
  const started = performance.now();
  try {
    let compiled = await run(Deno.execPath(), compileArgs);
    if (compiled.code !== 0 && runtimeUnavailable(compiled.stderr)) {
      console.log("compile: Deno's runtime binary (denort) cannot be fetched here:");
      const lines = compiled.stderr.split("\n").map((l) => l.trim());
      console.log(`  ${lines.find((l) => /request for url|denort/i.test(l)) ?? lines[0]}`);
      if (strict) return 1;
      console.log("compile: compiling against the deno binary instead (DENORT_BIN=deno)");
      compiled = await run(Deno.execPath(), compileArgs, { DENORT_BIN: Deno.execPath() });
      if (compiled.code !== 0) {
        console.log(compiled.stderr);
        console.log("compile: FAILED");
        return 1;
      }
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`compile: ${ENTRY} compiles (${secs}s); SKIPPED: --help (the base was not`);
      console.log("  denort; set DENORT_BIN=/path/to/denort to build and run the real binary)");
      return 0;
    }
    if (compiled.code !== 0) {
      console.log(compiled.stderr);
      console.log("compile: FAILED");
      return 1;
    }
    const size = (await Deno.stat(binary)).size;
    const help = await run(binary, ["--help"]);
    const connectHelp = await run(binary, ["connect", "--help"]);
    const version = await run(binary, ["--version"]);
    const problems = [
      help.code !== 0 || !help.stdout.includes("wirestream connect URL") ? "--help" : "",
      connectHelp.code !== 0 || !connectHelp.stdout.startsWith("Usage: wirestream connect")
        ? "connect --help"
        : "",
      version.code !== 0 || !version.stdout.startsWith("wirestream ") ? "--version" : "",
    ].filter((p) => p !== "");
    if (problems.length > 0) {
      console.log(help.stdout, help.stderr, connectHelp.stderr, version.stderr);
      console.log(`compile: the binary built but ${problems.join(", ")} did not run as expected`);
      return 1;
    }
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    const mb = (size / 1024 / 1024).toFixed(0);
    console.log(
      `compile: ${ENTRY} -> one ${mb} MiB binary in ${secs}s; --help, connect --help and`,
    );
    console.log(`  --version run (${version.stdout.trim()})`);
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main());
