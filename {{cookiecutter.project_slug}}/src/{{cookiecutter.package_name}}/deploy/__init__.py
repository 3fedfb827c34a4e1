"""The deploy helper: what CI runs to ship an approved model, stage by stage.

    python -m {{ cookiecutter.package_name }}.deploy latest
    python -m {{ cookiecutter.package_name }}.deploy parameters --stage prod [--model-package-arn ARN] [--shadow]
    python -m {{ cookiecutter.package_name }}.deploy deploy --stage prod [--model-package-arn ARN] [--shadow]
    python -m {{ cookiecutter.package_name }}.deploy smoke-test --stage prod [--endpoint-url URL]
    python -m {{ cookiecutter.package_name }}.deploy bootstrap

Each stage's settings are config/<stage>.json (stage.py); its endpoint is the stack
`<slug>-endpoint-<stage>` of infra/endpoint.yaml in the stage's account, created or updated by
CloudFormation with the account's `<slug>-cloudformation` role, after assuming its
`<slug>-deployment` role (stacks.py). smoke.py tests the endpoint through invoke_endpoint;
bootstrap.py lists the stacks deployed once by hand.
"""
