import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../functions/core/config.ts';
import { parseDocuments } from '../../../functions/core/tools/adapters.ts';
import { parseDocumentRef } from '../../../functions/core/tools/actions/ssm-documents.ts';

describe('unit: SSM Automation document references (one rule for the runtime and the stack grant)', () => {
  it('tells this account\'s documents, AWS-owned ones (reserved prefixes) and shared ones (ARNs) apart', () => {
    expect(parseDocumentRef('Autopilot-Rollback')).toEqual({ owner: 'self', name: 'Autopilot-Rollback' });
    expect(parseDocumentRef('AWS-RestartEC2Instance')).toEqual({ owner: 'aws', name: 'AWS-RestartEC2Instance' });
    expect(parseDocumentRef('AWSSupport-TroubleshootRDP')).toEqual({ owner: 'aws', name: 'AWSSupport-TroubleshootRDP' });
    expect(parseDocumentRef('AmazonCloudWatch-ManageAgent')).toEqual({ owner: 'aws', name: 'AmazonCloudWatch-ManageAgent' });
    expect(parseDocumentRef('arn:aws:ssm:eu-west-1:444455556666:document/Platform-Rollback')).toEqual({ owner: 'shared', name: 'Platform-Rollback', partition: 'aws', region: 'eu-west-1', account: '444455556666' });
    expect(parseDocumentRef('arn:aws-us-gov:ssm:us-gov-west-1:444455556666:document/Platform-Rollback')).toMatchObject({ owner: 'shared', partition: 'aws-us-gov' });
  });

  it.each(['a b', 'ab', 'arn:aws:ssm:eu-west-1:1:document/Xyz', 'arn:aws:ssm:eu-west-1:444455556666:automation-definition/Xyz:$DEFAULT', 'arn:aws:ssm:eu-west-1::document/AWS-RestartEC2Instance'])(
    'refuses %j, at the runtime too',
    (reference) => {
      expect(parseDocumentRef(reference)).toBeUndefined();
      expect(() => parseDocuments(JSON.stringify({ 'scale-service': reference }))).toThrow(ConfigError);
    },
  );
});
