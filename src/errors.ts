// Errors caused by the user's input (paths, flags, data, model folders). The CLI prints their
// message as a single line and exits with status 2; any other error is a bug and keeps its stack.
export class UserError extends Error {
  override name = 'UserError';
}
