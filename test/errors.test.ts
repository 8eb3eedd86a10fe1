import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeOf, ERRORS, EventGateError, eventOutcomeOf, statusOf } from '../lib/errors';
import { ROOT } from './helpers/service';

interface DocRow {
  status: string;
  event: string;
}

function docRows(): Map<string, DocRow> {
  const text = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  const rows = new Map<string, DocRow>();
  for (const m of text.matchAll(/^\| `(EG_ERR_[A-Z0-9_]+)` \| (\d*) \| (invalid|error|) \|/gm)) {
    expect(rows.has(m[1]), `${m[1]} listed twice`).to.equal(false);
    rows.set(m[1], { status: m[2], event: m[3] });
  }
  return rows;
}

describe('error catalogue', () => {
  it('is documented in docs/errors.md code for code, with the same status and event outcome', () => {
    const rows = docRows();
    expect([...rows.keys()].sort()).to.deep.equal(Object.keys(ERRORS).sort());
    for (const [code, spec] of Object.entries(ERRORS) as [keyof typeof ERRORS, { status?: number; event?: string }][]) {
      expect(rows.get(code), code).to.deep.equal({ status: spec.status === undefined ? '' : String(spec.status), event: spec.event ?? '' });
    }
  });

  it('gives every code the EG_ERR_ prefix and every per-event code no request status', () => {
    for (const [code, spec] of Object.entries(ERRORS) as [string, { status?: number; event?: string }][]) {
      expect(code).to.match(/^EG_ERR_[A-Z0-9_]+$/);
      expect(spec.status !== undefined && spec.event !== undefined && spec.status !== 503, code).to.equal(false);
    }
  });

  it('classifies by code, also for an error that crossed a process boundary as a plain object', () => {
    const err = new EventGateError('EG_ERR_SCHEMA_NOT_FOUND', 'no /x');
    expect(err.status).to.equal(undefined);
    expect(eventOutcomeOf(err.code)).to.equal('invalid');
    const cloned: unknown = structuredClone({ code: err.code, message: err.message });
    expect(codeOf(cloned)).to.equal('EG_ERR_SCHEMA_NOT_FOUND');
    expect(codeOf(new Error('boom'))).to.equal('EG_ERR_INTERNAL');
    expect(statusOf('EG_ERR_BODY_TOO_LARGE')).to.equal(413);
  });
});
