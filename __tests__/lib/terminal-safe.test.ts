import { redactSecrets, safeField, terminalSafe } from '../../lib/terminal-safe';

describe('the one sanitizer for printed outside input', () => {
  it('escapes ESC, CR, BEL, C1 controls and bidi overrides; keeps newlines and tabs in text, not in a field', () => {
    expect(terminalSafe('a\u001b[2K\rb\u0007\u009bc\u202ed\n\te')).toBe('a\\x1b[2K\\rb\\x07\\x9bc\\u202ed\n\te');
    expect(safeField('a\nb\tc')).toBe('a\\nb\\tc');
    expect(terminalSafe('plain ascii, ümlaut, 日本')).toBe('plain ascii, ümlaut, 日本');
  });

  it('redacts user info in any URL and authorization values', () => {
    expect(redactSecrets('at https://robot:pw@reg.example:5000/v2 and http://tok@127.0.0.1/')).toBe(
      'at https://***@reg.example:5000/v2 and http://***@127.0.0.1/',
    );
    expect(redactSecrets('Authorization: token=abc.def, Basic dXNlcjpwdw== Bearer ya29.x')).toBe(
      'Authorization: token=***, Basic *** Bearer ***',
    );
    expect(redactSecrets('mail ana@example.com stays')).toBe('mail ana@example.com stays');
  });
});
