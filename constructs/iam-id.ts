/**
 * A stable construct id for an IAM member (`user:ana@example.com` -> `user-ana-example-com`). Construct ids become
 * Terraform addresses, so the id depends only on the member, never on list order.
 */
export function memberId(member: string): string {
  return member
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
