/**
 * What an SSM Automation document reference in the configuration means, in one place for the runtime (adapters.ts
 * parses SSM_AUTOMATION_DOCUMENTS) and the stack (lib/incident-functions.ts grants StartAutomationExecution), so
 * the two accept the same references and the grant names the document the runtime will start:
 *
 * | reference                                         | whose document       | StartAutomationExecution resource                       |
 * |---------------------------------------------------|----------------------|---------------------------------------------------------|
 * | `Autopilot-Rollback` (a name)                     | this account's       | `arn:<p>:ssm:<region>:<this account>:automation-definition/Autopilot-Rollback:*` |
 * | `AWS-RestartEC2Instance` (reserved prefix)        | AWS's                | `arn:<p>:ssm:<region>::automation-definition/AWS-RestartEC2Instance:*` (no account) |
 * | `arn:aws:ssm:<region>:<owner>:document/<name>`    | shared by `<owner>`  | `arn:aws:ssm:<region>:<owner>:automation-definition/<name>:*` |
 *
 * The IAM service authorization reference lists one resource type for ssm:StartAutomationExecution,
 * `automation-definition` (`arn:${Partition}:ssm:${Region}:${Account}:automation-definition/${AutomationDefinitionName}:${VersionId}`),
 * whose account is the document owner's: AWS-owned documents have none (that is how they are granted and how
 * EventBridge targets them), and a document shared from another account is named, to SSM and so to IAM, with
 * its owner's account. `:*` allows every version (a new runbook version must not need a redeploy).
 */

/** A document name as SSM accepts it (CreateDocument: letters, digits, `_`, `-`, `.`; 3 to 128 characters). */
export const DOCUMENT_NAME = /^[A-Za-z0-9_.-]{3,128}$/;
/** A shared document's ARN: the form SSM wants for a document another account shared with this one. */
const DOCUMENT_ARN = /^arn:(aws[a-z-]*):ssm:([a-z0-9-]+):(\d{12}):document\/([A-Za-z0-9_.-]{3,128})$/;
/** Name prefixes SSM reserves for AWS's own documents (CreateDocument refuses them, in any case). */
const AWS_OWNED = /^(?:aws|amazon|amzn)/i;

export type DocumentRef =
  /** A document of the account the function runs in. */
  | { readonly owner: 'self'; readonly name: string }
  /** An AWS-owned document (AWS-RestartEC2Instance, AWSSupport-…): its ARNs have no account. */
  | { readonly owner: 'aws'; readonly name: string }
  /** A document another account shared with this one, named by its ARN. */
  | { readonly owner: 'shared'; readonly name: string; readonly partition: string; readonly region: string; readonly account: string };

/** What a configured reference names, or undefined when it is neither a document name nor a document ARN. */
export const parseDocumentRef = (reference: string): DocumentRef | undefined => {
  const arn = DOCUMENT_ARN.exec(reference);
  if (arn) {
    const [, partition, region, account, name] = arn as unknown as [string, string, string, string, string];
    return { owner: 'shared', name, partition, region, account };
  }
  if (!DOCUMENT_NAME.test(reference)) return undefined;
  return { owner: AWS_OWNED.test(reference) ? 'aws' : 'self', name: reference };
};

/** How the error messages describe what is accepted. */
export const DOCUMENT_REF_FORMS = 'a document name (letters, digits, "_", "-", "."; 3-128 characters) or a shared document\'s ARN (arn:aws:ssm:<region>:<account>:document/<name>)';
