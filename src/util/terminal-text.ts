// Text that came from a router (its stderr, a reply quoted in a message) is printed to the
// operator's terminal: its escape sequences could retitle the window, rewrite what is shown,
// hide lines or (on some terminals) answer back. They are removed before anything is printed.

/** CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), DCS/SOS/PM/APC strings, and two-byte ESC sequences; C1 forms too. */
const SEQUENCES = /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[ -/]*[0-~]?/g;
/** Any other control character but newline and tab (carriage return and backspace rewrite a line). */
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** The text with terminal escape sequences removed and other control characters shown as U+FFFD. */
export function plainText(text: string): string {
  return text.replace(SEQUENCES, '').replace(CONTROLS, '\ufffd');
}
