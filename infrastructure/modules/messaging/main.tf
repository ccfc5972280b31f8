# The general event topic of one stage and the publish-only IAM user that
# producers use. Other listeners may subscribe to the topic too.

resource "aws_sns_topic" "this" {
  name              = var.topic_name
  display_name      = var.display_name
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

# The user gets its rights through a group, never through a policy attached
# to the user itself.
resource "aws_iam_group" "publishers" {
  name = "${var.publisher_user_name}_group"
  path = var.iam_path
}

data "aws_iam_policy_document" "publish" {
  statement {
    sid       = "PublishToTheEventTopic"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
  }

  statement {
    sid       = "UseTheTopicKey"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_group_policy" "publish" {
  name   = "publish-to-${var.topic_name}"
  group  = aws_iam_group.publishers.name
  policy = data.aws_iam_policy_document.publish.json
}

resource "aws_iam_user" "this" {
  #checkov:skip=CKV_AWS_273:Producers are applications outside AWS SSO; by design they publish with the keys of this publish-only user (rights only through its group).
  name          = var.publisher_user_name
  path          = var.iam_path
  force_destroy = true
  tags          = var.tags
}

resource "aws_iam_user_group_membership" "this" {
  user   = aws_iam_user.this.name
  groups = [aws_iam_group.publishers.name]
}

resource "aws_iam_access_key" "this" {
  count = var.create_access_key ? 1 : 0

  user    = aws_iam_user.this.name
  pgp_key = var.pgp_key
}
