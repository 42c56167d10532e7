import { Token } from 'cdktf';

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

/**
 * An IAM member to grant a role to: a literal (`group:qa@example.com`), or a reference to an account the app creates
 * with the stable id its binding's construct gets (a reference has no stable text of its own).
 */
export type IamMember = string | { readonly id: string; readonly member: string };

/** The construct id and the member of an {@link IamMember}; throws on an unresolved reference without an id. */
export function iamMember(m: IamMember): { id: string; member: string } {
  if (typeof m !== 'string') return m;
  if (Token.isUnresolved(m)) throw new Error(`an IAM member given as a reference needs an id for its binding: ${m}`);
  return { id: memberId(m), member: m };
}

/** Members without duplicates (by construct id), in the order given. */
export function uniqueMembers(members: readonly IamMember[] | undefined): { id: string; member: string }[] {
  const seen = new Map<string, { id: string; member: string }>();
  for (const m of members ?? []) {
    const x = iamMember(m);
    if (!seen.has(x.id)) seen.set(x.id, x);
  }
  return [...seen.values()];
}
