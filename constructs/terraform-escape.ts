/**
 * Escapes a literal string for Terraform JSON, where `${` and `%{` start an interpolation or a directive: file
 * contents, shell scripts and user commands must reach the provider unchanged. cdktf tokens in the string (a
 * reference such as a bucket's name, encoded as `${TfToken[...]}`) stay references.
 */
export function escapeTerraform(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, () => '$${').replace(/%\{/g, () => '%%{');
}

/**
 * Escapes a literal shell command for a Cloud Build step, where `$NAME` is a substitution and `$$` a literal `$`.
 * (Step strings are escaped for Terraform afterwards, by `toTriggerStep`.)
 */
export function escapeCloudBuild(text: string): string {
  return text.replace(/\$/g, () => '$$');
}
