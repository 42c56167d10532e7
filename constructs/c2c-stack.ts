import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Construct } from 'constructs';
import { IStackSynthesizer, ISynthesisSession, TerraformStack } from 'cdktf';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { MarathonApp } from './marathon-app';
import { TerraformJson, undeclaredReferences } from './reference-integrity';

/**
 * A TerraformStack that also writes every {@link MarathonApp} it holds as a plain JSON file next to its Terraform
 * JSON (`cdktf.out/stacks/<stack>/marathon/<service>.<env>.json`), so that the templates can be read without
 * Terraform. Uses only the public synthesizer interface.
 *
 * It also skips cdktf's preparing pass. Before synthesis cdktf resolves every element of every stack once more, only to
 * find cross-stack references (which it turns into outputs and remote state); that pass was a third of the synth time.
 * This app has none: a stack refers to another stack's resources by their literal names (it is applied after that
 * stack as a whole), and the one value that only exists once the platform is applied, the deploy bundle's generation,
 * is read explicitly from the platform's state (`platformRefsIn`). A cross-stack reference added by mistake would
 * resolve to an address this stack does not declare; synthesis checks every reference and refuses that.
 */
export class C2CStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const inner = this.synthesizer;
    const outer: IStackSynthesizer = {
      synthesize: (session: ISynthesisSession) => {
        inner.synthesize(session);
        this.checkReferences(session);
        this.writeMarathonTemplates(session);
      },
    };
    this.synthesizer = outer;
  }

  /** No preparing pass (see the class): only the backend check cdktf's own pass starts with. */
  prepareStack(): void {
    this.ensureBackendExists();
  }

  /** Every `${TYPE.NAME...}` of the written stack names a resource, data source or output of this stack. */
  private checkReferences(session: ISynthesisSession): void {
    const file = join(session.outdir, session.manifest.forStack(this).synthesizedStackPath);
    const undeclared = undeclaredReferences(JSON.parse(readFileSync(file, 'utf8')) as TerraformJson);
    if (undeclared.length > 0) {
      throw new Error(
        `stack ${this.node.id} refers to ${undeclared.join(', ')}, which it does not declare: a reference into another stack; pass that stack's literal name or id instead (see C2CStack)`,
      );
    }
  }

  private writeMarathonTemplates(session: ISynthesisSession): void {
    const apps = this.node.findAll().filter(MarathonApp.isMarathonApp);
    if (apps.length === 0) return;
    const dir = join(session.outdir, session.manifest.forStack(this).workingDirectory, 'marathon');
    mkdirSync(dir, { recursive: true });
    for (const app of apps) writeFileSync(join(dir, app.fileName), app.json);
  }
}

/** The label every Google resource of the app carries (the provider's `default_labels`). */
export const MANAGED_BY_LABEL = { 'managed-by': 'commit-to-cloud' } as const;

/**
 * The Google provider of a stack, with {@link MANAGED_BY_LABEL} as its default labels. Written as an override: cdktf
 * would write the map's key in snake case (`managed_by`), a second label beside the resources' own `managed-by`.
 */
export function googleProvider(scope: Construct, platform: { readonly project: string; readonly region: string }): GoogleProvider {
  const provider = new GoogleProvider(scope, 'google', { project: platform.project, region: platform.region });
  provider.addOverride('default_labels', { ...MANAGED_BY_LABEL });
  return provider;
}
