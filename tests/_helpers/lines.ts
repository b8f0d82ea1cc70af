/**
 * Splitting a byte stream into text lines: a small replacement for `TextLineStream` from
 * `jsr:@std/streams` (JSR is unreachable from the build environment).
 *
 * @module
 */

/**
 * Decodes `stream` as UTF-8 and splits it into lines.
 *
 * Lines end at `\n`; a `\r` before the `\n` is dropped too. The line terminators are not part of
 * the emitted strings. A last line without a terminator is emitted at the end of the stream, an
 * empty one is not. Cancelling the returned stream cancels `stream` (so a child process's piped
 * stdout is released, which keeps the resource sanitizer quiet).
 *
 * @example
 * ```ts
 * const child = new Deno.Command("echo", { args: ["a\nb"], stdout: "piped" }).spawn();
 * for await (const line of lines(child.stdout)) console.log(line); // "a", then "b"
 * await child.status;
 * ```
 */
export function lines(stream: ReadableStream<Uint8Array>): ReadableStream<string> {
  let rest = "";
  return stream.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TransformStream<string, string>({
      transform(chunk, controller) {
        rest += chunk;
        let start = 0;
        for (let nl = rest.indexOf("\n"); nl !== -1; nl = rest.indexOf("\n", start)) {
          const end = nl > start && rest.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
          controller.enqueue(rest.slice(start, end));
          start = nl + 1;
        }
        rest = rest.slice(start);
      },
      flush(controller) {
        if (rest !== "") controller.enqueue(rest);
        rest = "";
      },
    }),
  );
}
