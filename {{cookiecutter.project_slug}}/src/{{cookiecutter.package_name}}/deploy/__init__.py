"""The deploy helper: what CI runs to ship an approved model, stage by stage.

    python -m {{ cookiecutter.package_name }}.deploy latest
{%- if cookiecutter.artifact_account == "yes" %}
    python -m {{ cookiecutter.package_name }}.deploy publish [--model-package-arn ARN]
{%- endif %}
    python -m {{ cookiecutter.package_name }}.deploy parameters --stage prod [--shadow]
    python -m {{ cookiecutter.package_name }}.deploy deploy --stage prod [--shadow]
    python -m {{ cookiecutter.package_name }}.deploy smoke-test --stage prod
    python -m {{ cookiecutter.package_name }}.deploy bootstrap

`parameters` and `deploy` take the newest Approved package unless --model-package-arn names one
(CI gives production the package staging tested); `smoke-test --endpoint-url URL` calls another
sagemaker-runtime URL (a local one in the tests).

Each stage's settings are config/<stage>.json (stage.py); its endpoint is the stack
`<slug>-endpoint-<stage>` of infra/endpoint.yaml in the stage's account, created or updated by
CloudFormation with the account's `<slug>-cloudformation` role, after assuming its
`<slug>-deployment` role (stacks.py). smoke.py tests the endpoint through invoke_endpoint;
bootstrap.py lists the stacks deployed once by hand.
{%- if cookiecutter.artifact_account == "yes" %}

`publish`, run as the tooling account's deployer before `deploy`, copies the package's files to
the shared-artifact account (artifacts.py); `deploy` and `parameters` then name those copies and
the images ECR replicated there, never the tooling account's.
{%- endif %}
"""
