/**
 * Secrets Manager for the laptop twin: serves the webhook secret, generated on first start from a
 * cryptographic random source and kept in `<dataDir>/secret` (mode 0600) so restarts and the CLI reuse it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type AwsService, AwsServiceError, requiredString } from './aws-json.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './constants.ts';

export const generateSecret = (): string => randomBytes(24).toString('base64url');

/** Reads the secret file, creating it (0600) if absent. */
export const loadOrCreateSecret = (file: string): string => {
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 16) return secret;
  }
  const secret = generateSecret();
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // writeFileSync keeps the mode of an existing file
  return secret;
};

export const secretsManagerService = (secrets: ReadonlyMap<string, string>): AwsService => {
  const createdDate = Date.now() / 1000;
  return {
    targetPrefix: 'secretsmanager',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      GetSecretValue: (input) => {
        const id = requiredString(input, 'SecretId');
        const name = id.startsWith('arn:') ? id.split(':secret:')[1]?.replace(/-[A-Za-z0-9]{6}$/, '') ?? id : id;
        const value = secrets.get(name);
        if (value === undefined) throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
        return {
          ARN: `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${name}-local`,
          Name: name,
          SecretString: value,
          VersionId: 'local-v1',
          VersionStages: ['AWSCURRENT'],
          CreatedDate: createdDate,
        };
      },
    },
  };
};
