/**
 * The tool's entry: reads the command line, prints help, and runs `connect` or `listen`.
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { parseCommandLine } from "./args.ts";
import { type Invocation, UsageError } from "./settings.ts";
import { runConnect } from "./connect_command.ts";
import { describeError } from "./failures.ts";
import { ExitCode, helpText } from "./help.ts";
import { type CliIo, processIo } from "./io.ts";
import { plainOutput } from "./output.ts";
import { runListen } from "./listen_command.ts";

/** Set in the environment of the copy of the tool that `--insecure` starts. */
const INSECURE_ENV = "WIRESTREAM_CLI_INSECURE";

/**
 * Runs the command-line tool with `args` (the arguments after the program name) and returns
 * its exit code (see {@linkcode ExitCode}). `cli.ts` calls it with `Deno.args` and exits with
 * the result.
 *
 * @example Print the help of `connect`
 * ```ts
 * import { main } from "@wirestream/ws/cli";
 *
 * const code = await main(["connect", "--help"]);
 * console.log(code); // 0
 * ```
 *
 * @param args The command line, without the program name.
 * @param io Other standard streams than the process's (for tests, or when embedded).
 * @returns The exit code.
 */
export async function main(args: readonly string[], io?: CliIo): Promise<number> {
  const streams = io ?? processIo();
  const out = plainOutput(streams.stdout, streams.stderr);
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    out.note(`wirestream: ${err.message}`);
    out.note(`run "wirestream ${err.topic === "main" ? "" : err.topic + " "}--help" for help`);
    return ExitCode.USAGE;
  }
  switch (invocation.command) {
    case "help":
      out.message(helpText(invocation.topic).trimEnd());
      return ExitCode.OK;
    case "version":
      out.message(`wirestream ${denoJson.version} (${denoJson.name}; Deno ${Deno.version.deno})`);
      return ExitCode.OK;
    case "connect":
      if (invocation.insecure && Deno.env.get(INSECURE_ENV) !== "1") {
        return await rerunInsecure(args, out);
      }
      return await runConnect(invocation, streams);
    case "listen":
      return await runListen(invocation, streams);
  }
}

/**
 * `--insecure`: Deno checks TLS certificates in the runtime, with no per-connection switch, so
 * the tool runs itself again with `--unsafely-ignore-certificate-errors`.
 */
async function rerunInsecure(args: readonly string[], out: ReturnType<typeof plainOutput>) {
  if (Deno.build.standalone) {
    out.note(
      "wirestream: --insecure does not work in a compiled binary (Deno checks certificates in " +
        "the runtime); use --ca FILE, or compile with --unsafely-ignore-certificate-errors",
    );
    return ExitCode.USAGE;
  }
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unsafely-ignore-certificate-errors", Deno.mainModule, ...args],
      env: { [INSECURE_ENV]: "1" },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const status = await child.status;
    return status.code;
  } catch (err) {
    out.note(`wirestream: --insecure: cannot start Deno again: ${describeError(err)}`);
    return ExitCode.ERROR;
  }
}
