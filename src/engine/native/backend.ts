// The oneDNN engine. PLACEHOLDER: filled in by the native-engine work; reports "not available" until then.
export function registerNativeBackend(): boolean {
  return false;
}
