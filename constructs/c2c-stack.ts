import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Construct } from 'constructs';
import { IStackSynthesizer, ISynthesisSession, TerraformStack } from 'cdktf';
import { MarathonApp } from './marathon-app';

/**
 * A TerraformStack that also writes every {@link MarathonApp} it holds as a plain JSON file next to its Terraform
 * JSON (`cdktf.out/stacks/<stack>/marathon/<service>.<env>.json`), so that the templates can be read without
 * Terraform. Uses only the public synthesizer interface.
 */
export class C2CStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const inner = this.synthesizer;
    const outer: IStackSynthesizer = {
      synthesize: (session: ISynthesisSession) => {
        inner.synthesize(session);
        this.writeMarathonTemplates(session);
      },
    };
    this.synthesizer = outer;
  }

  private writeMarathonTemplates(session: ISynthesisSession): void {
    const apps = this.node.findAll().filter(MarathonApp.isMarathonApp);
    if (apps.length === 0) return;
    const dir = join(session.outdir, session.manifest.forStack(this).workingDirectory, 'marathon');
    mkdirSync(dir, { recursive: true });
    for (const app of apps) writeFileSync(join(dir, app.fileName), app.json);
  }
}
